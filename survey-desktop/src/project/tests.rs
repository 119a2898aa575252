use std::collections::BTreeMap;

use geo_types::Coord;

use super::*;
use crate::model::ops;

fn squares() -> Editor {
    crate::model::ops::tests_support::two_squares()
}

fn c(x: f64, y: f64) -> Coord<f64> {
    Coord { x, y }
}

fn some_edits(ed: &mut Editor) {
    let shared = ed.index().points_near(c(40_512_010.0, 3_350_010.0), 1e-6)[0].0;
    let cmd = ops::move_point(ed.doc(), shared, c(40_512_010.5, 3_350_010.25)).expect("move");
    ed.execute(cmd).expect("execute");
    let fp = [c(40_512_001.0, 3_350_001.0), c(40_512_004.0, 3_350_001.0), c(40_512_004.0, 3_350_004.0)];
    let cmd = ops::draw_building(ed.doc(), ed.index(), &fp).expect("building");
    ed.execute(cmd).expect("execute");
    let p = &ed.doc().parcels[&2];
    let mut attrs = p.attributes.clone();
    attrs.zl = Some("西湖区文三路 1 号".into());
    attrs.yt = Some("0701".into());
    let cmd = ops::set_parcel_attributes(ed.doc(), 2, p.zddm.clone(), attrs).expect("attrs");
    ed.execute(cmd).expect("execute");
}

#[test]
fn save_and_open_give_the_same_document() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    let mut ed = squares();
    ed.set_zone(cadastre_core::crs::GkZone::from_epsg(4528));
    some_edits(&mut ed);
    let mut settings = BTreeMap::new();
    settings.insert("language".to_owned(), "zh".to_owned());
    let mut project = Project::create(&path).expect("create");
    project.save(&mut ed, &settings).expect("save");
    drop(project);
    let (_, opened) = Project::open(&path).expect("open");
    assert!(opened.unsaved.is_empty());
    assert_eq!(&opened.doc, ed.doc());
    assert_eq!(opened.settings.get("language").map(String::as_str), Some("zh"));
    // Undo reaches back past the save.
    let (mut back, _) = opened.into_editor(false).expect("editor");
    assert_eq!(back.done().len(), 3);
    back.undo().expect("undo");
    assert!(back.doc().parcels[&2].attributes.zl.is_none());
}

#[test]
fn autosaved_steps_survive_a_crash_and_replay_exactly() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    let mut ed = squares();
    let mut project = Project::create(&path).expect("create");
    project.save(&mut ed, &BTreeMap::new()).expect("save");
    let saved = ed.doc().clone();
    some_edits(&mut ed);
    ed.undo().expect("undo");
    ed.redo().expect("redo");
    assert_eq!(project.autosave(&mut ed).expect("autosave"), 5);
    // An edit after the last autosave is lost by the crash.
    let cmd = ops::delete_parcel(ed.doc(), ed.index(), 1).expect("delete");
    let autosaved = ed.doc().clone();
    ed.execute(cmd).expect("execute");
    // The files as a kill -9 leaves them: copied while the project is open (the
    // journal's last transactions are only in the WAL), no checkpoint, no close.
    let crashed = dir.path().join("crashed.gpkg");
    std::fs::copy(&path, &crashed).expect("copy");
    let wal = dir.path().join("p.gpkg-wal");
    assert!(wal.exists(), "WAL mode");
    std::fs::copy(&wal, dir.path().join("crashed.gpkg-wal")).expect("copy wal");
    drop(project);
    let (_, opened) = Project::open(&crashed).expect("open");
    assert_eq!(opened.doc, saved);
    assert_eq!(opened.unsaved.len(), 5);
    let (recovered, _) = opened.into_editor(true).expect("recover");
    assert_eq!(recovered.doc(), &autosaved);
    assert!(recovered.is_dirty());
}

#[test]
fn declining_recovery_keeps_the_saved_project() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    let mut ed = squares();
    let mut project = Project::create(&path).expect("create");
    project.save(&mut ed, &BTreeMap::new()).expect("save");
    some_edits(&mut ed);
    project.autosave(&mut ed).expect("autosave");
    drop(project);
    let (mut project, opened) = Project::open(&path).expect("open");
    assert_eq!(opened.unsaved.len(), 3);
    project.discard_unsaved().expect("discard");
    assert_eq!(project.unsaved_steps().expect("count"), 0);
}

#[test]
fn gdal_reads_the_project_as_a_geopackage() {
    use gdal::vector::LayerAccess;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    let mut ed = squares();
    ed.set_zone(cadastre_core::crs::GkZone::from_epsg(4528));
    some_edits(&mut ed);
    let mut project = Project::create(&path).expect("create");
    project.save(&mut ed, &BTreeMap::new()).expect("save");
    drop(project);
    let ds = gdal::Dataset::open(&path).expect("GDAL opens it");
    assert_eq!(ds.driver().short_name(), "GPKG");
    let mut zd = ds.layer_by_name("ZD").expect("ZD");
    assert_eq!(zd.feature_count(), 2);
    let srs = zd.spatial_ref().expect("srs");
    assert_eq!(srs.auth_code().ok(), Some(4528));
    let f = zd.features().find(|f| f.fid() == Some(2)).expect("parcel 2");
    assert_eq!(
        f.field_index("ZL").ok().and_then(|i| f.field_as_string(i).ok().flatten()).as_deref(),
        Some("西湖区文三路 1 号")
    );
    let wkt = f.geometry().expect("geom").wkt().expect("wkt");
    assert!(wkt.starts_with("MULTIPOLYGON"), "{wkt}");
    assert!(wkt.contains("40512010.5 3350010.25"), "{wkt}");
    assert_eq!(ds.layer_by_name("JZD").expect("JZD").feature_count(), ed.doc().points.len() as u64);
    // 7 boundary lines of two squares; one shared.
    assert_eq!(ds.layer_by_name("JZX").expect("JZX").feature_count(), 7);
    // Loading it back through cadastre-core gives the same parcels.
    let sub = cadastre_core::io::load_submission(&path, &Default::default()).expect("cadastre-core reads it");
    assert_eq!(sub.parcels.len(), 2);
}

#[test]
fn a_second_window_on_the_same_project_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    let project = Project::create(&path).expect("create");
    assert!(matches!(Project::open(&path), Err(ProjectError::InUse(_))));
    drop(project);
    assert!(Project::open(&path).is_ok());
}

#[test]
fn foreign_and_damaged_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = dir.path().join("notes.gpkg");
    std::fs::write(&text, "not a database at all, just text").expect("write");
    assert!(Project::open(&text).is_err());
    let other = dir.path().join("other.sqlite");
    Connection::open(&other).and_then(|c| c.execute_batch("CREATE TABLE t (x)")).expect("sqlite");
    assert!(matches!(Project::open(&other), Err(ProjectError::NotAProject(_))));
    // Left as it was: not switched to WAL.
    let mode: String =
        Connection::open(&other).and_then(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0))).expect("mode");
    assert_eq!(mode, "delete");
    // A parcel pointing at a missing boundary point.
    let path = dir.path().join("p.gpkg");
    let mut ed = squares();
    let mut project = Project::create(&path).expect("create");
    project.save(&mut ed, &BTreeMap::new()).expect("save");
    drop(project);
    Connection::open(&path)
        .and_then(|c| c.execute("DELETE FROM JZD WHERE fid = (SELECT min(fid) FROM JZD)", []))
        .expect("tamper");
    assert!(matches!(Project::open(&path), Err(ProjectError::Damaged(_))));
    // A journal entry that is not a step.
    let path2 = dir.path().join("q.gpkg");
    let mut project = Project::create(&path2).expect("create");
    project.save(&mut ed, &BTreeMap::new()).expect("save");
    drop(project);
    Connection::open(&path2)
        .and_then(|c| c.execute("INSERT INTO desk_journal (step) VALUES ('{\"step\":\"do\",\"label\"')", []))
        .expect("tamper");
    let err = Project::open(&path2).expect_err("damaged journal");
    assert!(err.to_string().contains("journal entry"), "{err}");
    assert!(matches!(Project::create(&path2), Err(ProjectError::Exists(_))));
}
