use geo::polygon;
use geo::Area;
use geo_types::Coord;

use super::*;
use crate::model::snap::snap;
use crate::model::Editor;

pub(crate) fn c(x: f64, y: f64) -> Coord<f64> {
    Coord { x, y }
}

/// Two unit squares side by side (A west, B east), at Gauss-Krüger-like coordinates.
pub(crate) fn two_squares() -> Editor {
    let (x0, y0) = (40_512_000.0, 3_350_000.0);
    let sq = |code: &str, x: f64| {
        geo_types::MultiPolygon(vec![polygon![
            (x: x0 + x, y: y0), (x: x0 + x + 10., y: y0), (x: x0 + x + 10., y: y0 + 10.), (x: x0 + x, y: y0 + 10.)
        ]])
        .pipe(|g| cadastre_core::model::Parcel {
            zddm: code.into(),
            geometry: g,
            attributes: Default::default(),
            source_index: 0,
        })
    };
    let sub = cadastre_core::model::Submission {
        parcels: vec![sq("330106001001GB00001", 0.0), sq("330106001001GB00002", 10.0)],
        ..Default::default()
    };
    Editor::new(Document::from_submission(sub).0)
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

fn point_at(ed: &Editor, at: Coord<f64>) -> PointId {
    ed.index().points_near(at, 1e-6)[0].0
}

#[test]
fn moving_a_shared_point_moves_it_in_both_parcels() {
    let mut ed = two_squares();
    let shared = point_at(&ed, c(40_512_010.0, 3_350_010.0));
    assert_eq!(ed.index().users(shared).len(), 2);
    let before = ed.doc().clone();
    let cmd = move_point(ed.doc(), shared, c(40_512_011.0, 3_350_010.0)).expect("move");
    ed.execute(cmd).expect("execute");
    let a = ed.doc().parcel_geometry(1).expect("a");
    let b = ed.doc().parcel_geometry(2).expect("b");
    assert!(a.0[0].exterior().0.contains(&c(40_512_011.0, 3_350_010.0)));
    assert!(b.0[0].exterior().0.contains(&c(40_512_011.0, 3_350_010.0)));
    // Along the outer edge: what A gains B loses, the total stays 200 m².
    assert!((a.unsigned_area() + b.unsigned_area() - 200.0).abs() < 1e-6);
    ed.undo().expect("undo");
    assert_eq!(ed.doc(), &before);
}

#[test]
fn drawing_a_parcel_snaps_to_neighbour_points_and_edges() {
    let mut ed = two_squares();
    let (x0, y0) = (40_512_000.0, 3_350_000.0);
    // North of A: from A's north-west corner, to a point on... A's north edge is
    // shared: the new parcel's south edge runs along it, with a vertex snapped on it.
    let picks = [
        c(x0 + 0.02, y0 + 10.01),
        c(x0 + 5.0, y0 + 10.02),
        c(x0 + 10.0, y0 + 9.99),
        c(x0 + 10.0, y0 + 20.0),
        c(x0, y0 + 20.0),
    ];
    let snaps: Vec<_> = picks.iter().map(|&p| snap(ed.doc(), ed.index(), p, 0.05, &[])).collect();
    assert!(matches!(snaps[0].target, crate::model::snap::SnapTarget::Point(_)));
    assert!(matches!(snaps[1].target, crate::model::snap::SnapTarget::Edge { .. }));
    let cmd =
        draw_parcel(ed.doc(), ed.index(), &snaps, "330106001001GB00003".into(), Default::default()).expect("draw");
    ed.execute(cmd).expect("execute");
    assert_eq!(ed.doc().parcels.len(), 3);
    // The vertex on A's north edge is in A too (shared, no T-junction).
    let mid = point_at(&ed, c(x0 + 5.0, y0 + 10.0));
    let mut users = ed.index().users(mid).to_vec();
    users.sort_unstable();
    assert_eq!(users, vec![1, 3]);
    // The corner shared by A, B and the new parcel has three users.
    assert_eq!(ed.index().users(point_at(&ed, c(x0 + 10.0, y0 + 10.0))).len(), 3);
    let new = ed.doc().parcels.get(&3).expect("new parcel");
    assert_eq!(new.attributes.zdmj, Some(100.0));
}

#[test]
fn split_and_merge_give_back_the_parcel() {
    let mut ed = two_squares();
    let (x0, y0) = (40_512_000.0, 3_350_000.0);
    let before = ed.doc().clone();
    let line = [c(x0 + 5.0, y0 - 1.0), c(x0 + 5.0, y0 + 11.0)];
    let cmd = split_parcel(ed.doc(), ed.index(), 1, &line, None).expect("split");
    ed.execute(cmd).expect("execute");
    assert_eq!(ed.doc().parcels.len(), 3);
    let a1 = ed.doc().parcel_geometry(1).expect("a1").unsigned_area();
    let a3 = ed.doc().parcel_geometry(3).expect("a3").unsigned_area();
    assert!((a1 - 50.0).abs() < 1e-6 && (a3 - 50.0).abs() < 1e-6, "{a1} {a3}");
    assert_eq!(ed.doc().parcels[&3].zddm, "330106001001GB00003");
    let merged = merge_parcels(ed.doc(), ed.index(), 1, 3).expect("merge");
    ed.execute(merged).expect("execute");
    assert_eq!(ed.doc().parcels.len(), 2);
    assert!((ed.doc().parcel_geometry(1).expect("a").unsigned_area() - 100.0).abs() < 1e-6);
    // The split points stay only where the shared lines were gone: the two on the
    // outer edges remain as collinear vertices; the rest were removed.
    ed.undo().expect("undo merge");
    ed.undo().expect("undo split");
    assert_eq!(ed.doc(), &before);
}

#[test]
fn merging_parcels_that_do_not_touch_is_refused() {
    let mut ed = two_squares();
    let cmd = delete_parcel(ed.doc(), ed.index(), 2).expect("delete");
    ed.execute(cmd).expect("execute");
    // Only A left; merging with a missing parcel is an error.
    assert!(merge_parcels(ed.doc(), ed.index(), 1, 2).is_err());
    // Points only B used are gone; the shared ones stay.
    assert_eq!(ed.doc().points.len(), 4);
}

#[test]
fn deleting_a_shared_vertex_removes_it_everywhere() {
    let mut ed = two_squares();
    let (x0, y0) = (40_512_000.0, 3_350_000.0);
    let a = point_at(&ed, c(x0 + 10.0, y0));
    let b = point_at(&ed, c(x0 + 10.0, y0 + 10.0));
    let cmd = insert_vertex(ed.doc(), ed.index(), a, b, c(x0 + 10.0, y0 + 5.0)).expect("insert");
    ed.execute(cmd).expect("execute");
    let mid = point_at(&ed, c(x0 + 10.0, y0 + 5.0));
    assert_eq!(ed.index().users(mid).len(), 2);
    let del = delete_vertex(ed.doc(), ed.index(), mid).expect("delete");
    ed.execute(del).expect("execute");
    assert!(!ed.doc().points.contains_key(&mid));
    assert!(ed.doc().parcels.values().all(|p| p.outline.point_ids().count() == 4));
}

#[test]
fn building_drawn_inside_a_parcel_gets_its_code() {
    let mut ed = two_squares();
    let (x0, y0) = (40_512_000.0, 3_350_000.0);
    let fp = [c(x0 + 1.0, y0 + 1.0), c(x0 + 4.0, y0 + 1.0), c(x0 + 4.0, y0 + 4.0), c(x0 + 1.0, y0 + 4.0)];
    let cmd = draw_building(ed.doc(), ed.index(), &fp).expect("building");
    ed.execute(cmd).expect("execute");
    let b = ed.doc().buildings.values().next().expect("building");
    assert_eq!(b.zrzh, "330106001001GB00001F0001");
    assert_eq!(b.attributes.zzdmj, Some(9.0));
    // Outside every parcel: refused with a message.
    let far = [c(0.0, 0.0), c(1.0, 0.0), c(1.0, 1.0)];
    assert!(draw_building(ed.doc(), ed.index(), &far).is_err());
}
