//! The known-edits package: the sample district with one parcel split in two, one pair
//! merged, one boundary point moved 0.30 m, one new parcel in the empty street block, and
//! one building table changed (a household's area, one household gone, one new). The
//! review tests check the diff gives exactly these; `samples/review-edits/` (used by
//! `scripts/run.sh`) is this function's output, rewritten by
//! `cargo nextest run -p tile-server --run-ignored only -E 'test(write_committed_review_sample)'`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cadastre_core::area::{round2, PlanarArea};
use cadastre_core::io::{load_submission, write_shapefiles, LoadOptions, TextEncoding};
use cadastre_core::model::{Building, Parcel, Submission};
use geo::{BooleanOps, BoundingRect, Centroid};
use geo_types::{polygon, Coord, MultiPolygon};

pub const SPLIT: &str = "330106001002GB00006";
pub const MERGED: [&str; 2] = ["330106001002GB00002", "330106001002GB00003"];
pub const MOVED: &str = "330106001003GB00001";
pub const TABLE: &str = "330106001001GB00002F0001";
pub const TABLE_CHANGED: &str = "330106001001GB00002F00010001";
pub const TABLE_REMOVED: &str = "330106001001GB00002F00010024";

/// What was edited, for the tests' expectations.
#[derive(Debug, Clone)]
pub struct KnownEdits {
    /// Buildings that stood on the split and merged parcels (removed, re-added with temporary ids).
    pub rehoused_buildings: Vec<String>,
    /// Where the moved point was and is.
    pub moved_from: [f64; 2],
    pub moved_to: [f64; 2],
}

pub fn district_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)]])
}

/// Coordinates to the millimetre, as the sample records them: overlay output may move a
/// shared vertex by a rounding error, which would stop it being identical to the neighbour's.
fn snap_mm(g: MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::MapCoords;
    g.map_coords(|c| Coord { x: (c.x * 1000.0).round() / 1000.0, y: (c.y * 1000.0).round() / 1000.0 })
}

fn new_parcel(from: &Parcel, id: &str, geometry: MultiPolygon<f64>, zl: &str) -> Parcel {
    let geometry = snap_mm(geometry);
    let mut p = from.clone();
    p.zddm = id.to_owned();
    p.attributes.bdcdyh = None;
    p.attributes.zl = Some(zl.to_owned());
    p.attributes.zdmj = Some(round2(geometry.planar_area()));
    p.geometry = geometry;
    p
}

/// Cuts parcel `code` in two at the x between its buildings nearest the middle: left and
/// right halves and the cut's x.
fn split_parcel(sub: &Submission, code: &str) -> (Parcel, MultiPolygon<f64>, MultiPolygon<f64>, f64) {
    let p = sub.parcels.iter().find(|p| p.zddm == code).cloned().unwrap_or_else(|| panic!("{code} not in the sample"));
    let on_p: Vec<&Building> = sub.buildings.iter().filter(|b| b.zddm == code).collect();
    let r = p.geometry.bounding_rect().unwrap_or_else(|| panic!("empty {code}"));
    // The x-extents of the buildings, merged; the cut goes through the gap between two of
    // them (or between a building and the parcel's side) nearest the middle.
    let mut spans: Vec<(f64, f64)> =
        on_p.iter().filter_map(|b| b.footprint.bounding_rect()).map(|b| (b.min().x, b.max().x)).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mid = (r.min().x + r.max().x) / 2.0;
    let mut bounds = vec![r.min().x];
    for (a, b) in &merged {
        bounds.push(*a);
        bounds.push(*b);
    }
    bounds.push(r.max().x);
    let mut cut = None::<f64>;
    for gap in bounds.chunks(2) {
        let [start, end] = gap else { continue };
        let x = ((start + end) / 2.0 * 1000.0).round() / 1000.0;
        if end - start > 4.0 && cut.is_none_or(|c| (x - mid).abs() < (c - mid).abs()) {
            cut = Some(x);
        }
    }
    let cut = cut.unwrap_or(mid);
    let left = p.geometry.intersection(&rect(r.min().x - 1.0, r.min().y - 1.0, cut, r.max().y + 1.0));
    let right = p.geometry.intersection(&rect(cut, r.min().y - 1.0, r.max().x + 1.0, r.max().y + 1.0));
    (p, left, right, cut)
}

/// Writes the known-edits folder (layers, building tables, manifest.toml) to `out`.
pub fn write_known_edits(out: &Path) -> KnownEdits {
    let mut sub: Submission =
        load_submission(&district_dir(), &LoadOptions::default()).unwrap_or_else(|e| panic!("sample: {e}"));
    let find = |sub: &Submission, code: &str| -> Parcel {
        sub.parcels.iter().find(|p| p.zddm == code).cloned().unwrap_or_else(|| panic!("{code} not in the sample"))
    };
    let buildings_on = |sub: &Submission, code: &str| -> Vec<Building> {
        sub.buildings.iter().filter(|b| b.zddm == code).cloned().collect()
    };
    let mut rehoused = Vec::new();
    let mut new_buildings: Vec<Building> = Vec::new();
    let mut temp_building = 0;
    let mut rehouse = |b: &Building, parcel: &str, rehoused: &mut Vec<String>| {
        temp_building += 1;
        rehoused.push(b.zrzh.clone());
        let mut nb = b.clone();
        nb.zrzh = format!("TB{temp_building}");
        nb.zddm = parcel.to_owned();
        nb.attributes.bdcdyh = None;
        new_buildings.push(nb);
    };

    // 1. Split: cut at the x between buildings nearest the middle.
    let (p, left, right, cut) = split_parcel(&sub, SPLIT);
    let on_p = buildings_on(&sub, SPLIT);
    let zl = p.attributes.zl.clone().unwrap_or_default();
    let t1 = new_parcel(&p, "T1", left.clone(), &format!("{zl}之一"));
    let t2 = new_parcel(&p, "T2", right, &format!("{zl}之二"));
    for b in &on_p {
        let c = b.footprint.centroid().map(|c| c.x()).unwrap_or(cut);
        rehouse(b, if c < cut { "T1" } else { "T2" }, &mut rehoused);
    }

    // 2. Merge.
    let a = find(&sub, MERGED[0]);
    let b = find(&sub, MERGED[1]);
    let union = a.geometry.union(&b.geometry);
    assert_eq!(union.0.len(), 1, "the merged pair makes one polygon");
    let t3 = new_parcel(&a, "T3", union, &a.attributes.zl.clone().unwrap_or_default());
    for code in MERGED {
        for bld in buildings_on(&sub, code) {
            rehouse(&bld, "T3", &mut rehoused);
        }
    }

    // 3. A block corner of one parcel only, moved 0.30 m west into the street.
    let count: BTreeMap<(i64, i64), usize> = sub.parcels.iter().fold(BTreeMap::new(), |mut m, p| {
        for c in p.geometry.0.iter().flat_map(|poly| {
            let ring = &poly.exterior().0;
            ring[..ring.len().saturating_sub(1)].iter()
        }) {
            *m.entry(((c.x * 1000.0).round() as i64, (c.y * 1000.0).round() as i64)).or_default() += 1;
        }
        m
    });
    let moved = sub.parcels.iter_mut().find(|p| p.zddm == MOVED).unwrap_or_else(|| panic!("{MOVED}"));
    let ring: Vec<Coord> = moved.geometry.0[0].exterior().0.clone();
    let corner = ring
        .iter()
        .copied()
        .filter(|c| count.get(&((c.x * 1000.0).round() as i64, (c.y * 1000.0).round() as i64)) == Some(&1))
        .min_by(|a, b| a.x.total_cmp(&b.x).then(b.y.total_cmp(&a.y)))
        .unwrap_or_else(|| panic!("{MOVED} has no corner of its own"));
    let to = Coord { x: ((corner.x - 0.3) * 1000.0).round() / 1000.0, y: corner.y };
    moved.geometry.0[0].exterior_mut(|r| {
        for c in r.0.iter_mut().filter(|c| **c == corner) {
            *c = to;
        }
    });
    moved.attributes.zdmj = Some(round2(moved.geometry.planar_area()));

    // 4. A new parcel in the empty block (north-east of sub-district 003).
    let busy_top = sub
        .parcels
        .iter()
        .filter(|p| p.zddm.starts_with("330106001003"))
        .filter_map(|p| p.geometry.bounding_rect())
        .filter(|r| r.min().x >= 512_277.0)
        .map(|r| r.max().y)
        .fold(f64::MIN, f64::max);
    let (y0, y1) = (3_350_223.0, 3_350_273.0);
    assert!(busy_top + 10.0 < y0, "the block north of {busy_top} is empty");
    let template = find(&sub, MOVED);
    let mut t4 = new_parcel(&template, "T4", rect(512_300.0, y0, 512_360.0, y1), "西湖区新建路1号");
    t4.attributes.djzqdm = Some("330106001003".into());

    // The new layers.
    let gone = [SPLIT, MERGED[0], MERGED[1]];
    sub.parcels.retain(|p| !gone.contains(&p.zddm.as_str()));
    sub.parcels.extend([t1, t2, t3, t4]);
    sub.buildings.retain(|b| !gone.contains(&b.zddm.as_str()));
    sub.buildings.extend(new_buildings);
    std::fs::create_dir_all(out).unwrap_or_else(|e| panic!("{e}"));
    write_shapefiles(&sub, out, TextEncoding::Gbk).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));

    // 5. The building tables, one of them changed.
    let tables = out.join("buildings");
    std::fs::create_dir_all(&tables).unwrap_or_else(|e| panic!("{e}"));
    for e in std::fs::read_dir(district_dir().join("buildings")).unwrap_or_else(|e| panic!("{e}")).flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let mut text = std::fs::read_to_string(e.path()).unwrap_or_else(|e| panic!("{e}"));
        if name == format!("{TABLE}.csv") {
            let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
            for line in lines.iter_mut() {
                if line.contains(&format!(",{TABLE_CHANGED},")) {
                    *line = line.replace(",112.14,", ",113.00,");
                }
            }
            let last =
                lines.iter().position(|l| l.contains(&format!(",{TABLE_REMOVED},"))).unwrap_or_else(|| panic!("0024"));
            let removed = lines.remove(last);
            // The new household: no code yet, provisional number 0025.
            let added = removed.replace(",0024,", ",0025,").replace(&format!(",{TABLE_REMOVED},"), ",,");
            lines.insert(last, added);
            text = lines.join("\r\n");
        }
        if name == format!("{TABLE}.apportion.json") {
            text = text.replace("\"inner_area\": 112.14", "\"inner_area\": 113.0").replace("\"0024\"", "\"0025\"");
        }
        std::fs::write(tables.join(&name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    let manifest = format!(
        "county = \"330106\"\nproject = \"文一路宗地分割合并及楼盘表变更\"\nsurvey_firm = \"杭州示例测绘有限公司\"\n\
         business_kind = \"变更\"\n\n[[replaces]]\nkind = \"分割\"\nold = [\"{SPLIT}\"]\nnew = [\"T1\", \"T2\"]\n\n\
         [[replaces]]\nkind = \"合并\"\nold = [\"{}\", \"{}\"]\nnew = [\"T3\"]\n",
        MERGED[0], MERGED[1]
    );
    std::fs::write(out.join("manifest.toml"), manifest).unwrap_or_else(|e| panic!("{e}"));
    rehoused.sort();
    KnownEdits { rehoused_buildings: rehoused, moved_from: [corner.x, corner.y], moved_to: [to.x, to.y] }
}

pub const REHOUSED_PARCEL: &str = "330106001001GB00002";
/// The building with a table on [`REHOUSED_PARCEL`].
pub const REHOUSED_TABLE: &str = "330106001001GB00002F0001";
/// A building with a table that the package leaves out of its (carried) parcel.
pub const DROPPED_TABLE: &str = "330106001001GB00001F0001";

/// The temporary ids of the buildings of [`write_rehoused`].
#[derive(Debug, Clone)]
pub struct Rehoused {
    /// Old ZRZH → temporary id of the building that replaces it.
    pub temp: BTreeMap<String, String>,
    /// With a table: the household (BDCDYH) whose room the new table renames.
    pub renamed_room: Option<String>,
}

/// The sample district with [`REHOUSED_PARCEL`] split in two (its buildings re-added with
/// temporary ids `TR1`, `TR2`…, footprints unchanged) and [`DROPPED_TABLE`] left out of its
/// parcel, which the package carries unchanged. With `table`, the package carries a table
/// for the successor of [`REHOUSED_TABLE`]: its old table under the temporary id, without
/// codes, with the room of household 0003 renamed; without, no table for it.
pub fn write_rehoused(out: &Path, table: bool) -> Rehoused {
    let mut sub: Submission =
        load_submission(&district_dir(), &LoadOptions::default()).unwrap_or_else(|e| panic!("sample: {e}"));
    let (p, left, right, cut) = split_parcel(&sub, REHOUSED_PARCEL);
    let zl = p.attributes.zl.clone().unwrap_or_default();
    let t1 = new_parcel(&p, "T1", left, &format!("{zl}之一"));
    let t2 = new_parcel(&p, "T2", right, &format!("{zl}之二"));
    let mut temp = BTreeMap::new();
    let mut n = 0;
    for b in sub.buildings.iter_mut().filter(|b| b.zddm == REHOUSED_PARCEL) {
        n += 1;
        let c = b.footprint.centroid().map(|c| c.x()).unwrap_or(cut);
        temp.insert(b.zrzh.clone(), format!("TR{n}"));
        b.zrzh = format!("TR{n}");
        b.zddm = (if c < cut { "T1" } else { "T2" }).to_owned();
        b.attributes.bdcdyh = None;
    }
    assert!(temp.contains_key(REHOUSED_TABLE), "{temp:?}");
    sub.parcels.retain(|p| p.zddm != REHOUSED_PARCEL);
    sub.parcels.extend([t1, t2]);
    sub.buildings.retain(|b| b.zrzh != DROPPED_TABLE);
    std::fs::create_dir_all(out.join("buildings")).unwrap_or_else(|e| panic!("{e}"));
    write_shapefiles(&sub, out, TextEncoding::Gbk).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    for e in std::fs::read_dir(district_dir().join("buildings")).unwrap_or_else(|e| panic!("{e}")).flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(REHOUSED_TABLE) && !name.starts_with(DROPPED_TABLE) {
            std::fs::copy(e.path(), out.join("buildings").join(&name)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let mut renamed_room = None;
    if table {
        let id = &temp[REHOUSED_TABLE];
        let src = district_dir().join("buildings");
        let csv = std::fs::read_to_string(src.join(format!("{REHOUSED_TABLE}.csv"))).unwrap_or_else(|e| panic!("{e}"));
        let mut lines: Vec<String> = Vec::new();
        for line in csv.split("\r\n") {
            let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
            if cells.len() > 7 && cells[0].trim_start_matches('\u{feff}') == REHOUSED_TABLE {
                cells[0] = id.clone();
                if cells[5] == "0003" {
                    renamed_room = Some(cells[7].clone());
                    cells[6] = format!("{}甲", cells[6]);
                }
                cells[7] = String::new();
            }
            lines.push(cells.join(","));
        }
        std::fs::write(out.join("buildings").join(format!("{id}.csv")), lines.join("\r\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        let json = std::fs::read_to_string(src.join(format!("{REHOUSED_TABLE}.apportion.json")))
            .unwrap_or_else(|e| panic!("{e}"))
            .replace(REHOUSED_TABLE, id);
        std::fs::write(out.join("buildings").join(format!("{id}.apportion.json")), json)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let manifest = format!(
        "county = \"330106\"\nproject = \"宗地分割（楼盘表随迁）\"\nbusiness_kind = \"分割\"\n\n[[replaces]]\n\
         kind = \"分割\"\nold = [\"{REHOUSED_PARCEL}\"]\nnew = [\"T1\", \"T2\"]\n"
    );
    std::fs::write(out.join("manifest.toml"), manifest).unwrap_or_else(|e| panic!("{e}"));
    Rehoused { temp, renamed_room }
}

/// The parcel [`write_overlapping`] overlaps.
pub const OVERLAPPED: &str = MOVED;

/// The sample district without [`OVERLAPPED`] (and its buildings), which stays in the store
/// as it is, plus a new parcel `T9` over the middle of it: an overlap with a store parcel
/// the package does not replace.
pub fn write_overlapping(out: &Path) {
    let mut sub: Submission =
        load_submission(&district_dir(), &LoadOptions::default()).unwrap_or_else(|e| panic!("sample: {e}"));
    let x = sub.parcels.iter().find(|p| p.zddm == OVERLAPPED).cloned().unwrap_or_else(|| panic!("{OVERLAPPED}"));
    let r = x.geometry.bounding_rect().unwrap_or_else(|| panic!("empty {OVERLAPPED}"));
    let (w, h) = (r.width() / 4.0, r.height() / 4.0);
    let (cx, cy) = (((r.min().x + r.max().x) / 2.0).round(), ((r.min().y + r.max().y) / 2.0).round());
    let t9 = new_parcel(&x, "T9", rect(cx - w, cy - h, cx + w, cy + h), "西湖区重叠测试路9号");
    sub.parcels.retain(|p| p.zddm != OVERLAPPED);
    sub.parcels.push(t9);
    sub.buildings.retain(|b| b.zddm != OVERLAPPED);
    std::fs::create_dir_all(out).unwrap_or_else(|e| panic!("{e}"));
    write_shapefiles(&sub, out, TextEncoding::Gbk).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    std::fs::write(
        out.join("manifest.toml"),
        "county = \"330106\"\nproject = \"重叠测试\"\nbusiness_kind = \"首次\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The package bytes of a folder.
pub fn zip_of(dir: &Path) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    cadastre_core::package::build_from_dir(dir, &mut out).unwrap_or_else(|e| panic!("package {}: {e}", dir.display()));
    out.into_inner()
}

#[test]
#[ignore = "rewrites samples/review-edits"]
fn write_committed_review_sample() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/review-edits");
    let _ = std::fs::remove_dir_all(&out);
    write_known_edits(&out);
}

/// The files of a folder (recursively) by relative path. A DBF's header carries the day
/// it was written (bytes 1–3), which is left out of the comparison.
fn files_of(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())).flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let mut bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("dbf")) && bytes.len() > 4 {
                bytes[1..4].fill(0);
            }
            let name = p.strip_prefix(dir).map(|r| r.to_string_lossy().replace('\\', "/")).unwrap_or_default();
            out.insert(name, bytes);
        }
    }
    out
}

/// `samples/review-edits/` (what `scripts/run.sh` hands in for the demo) is what
/// `write_known_edits` writes today: the demo shows the edits these tests check.
/// After a change to the generator, rerun `write_committed_review_sample` (ignored).
#[test]
fn the_committed_review_sample_matches_its_generator() {
    let fresh = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_known_edits(fresh.path());
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/review-edits");
    let (want, have) = (files_of(fresh.path()), files_of(&committed));
    assert_eq!(want.keys().collect::<Vec<_>>(), have.keys().collect::<Vec<_>>(), "files differ");
    for (name, bytes) in &want {
        assert!(have.get(name) == Some(bytes), "samples/review-edits/{name} differs from the generator's");
    }
}
