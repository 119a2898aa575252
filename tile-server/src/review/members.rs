//! What the intake makes of each member of a package beyond the layers and the building
//! tables: the boundary-point table `JZD.csv` (界址点成果表) is read and checked against
//! the parcels' vertices, and every member the intake does not use is named, so nothing
//! in a package is ignored in silence. The messages become the diff's `notices` (they do
//! not block an accept: the reviewer reads them).

use std::collections::BTreeSet;
use std::path::Path;

use cadastre_core::boundary::table::read_points_csv;
use cadastre_core::model::Submission;
use cadastre_core::package::Manifest;
use geo_types::MultiPolygon;

use crate::import::tables::is_table;

/// File name of the boundary-point table in a package.
pub const JZD: &str = "JZD.csv";

/// Extensions of layer files (shapefile parts, GeoPackage) that `load_submission` reads.
const LAYER_EXTENSIONS: [&str; 9] = ["shp", "shx", "dbf", "prj", "cpg", "qpj", "sbn", "sbx", "gpkg"];

/// Whether the intake uses a member (by its path in the package).
fn used(path: &str) -> bool {
    let p = Path::new(path);
    let ext = p.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let top_level = !path.contains('/');
    if top_level && (path == JZD || LAYER_EXTENSIONS.contains(&ext.as_str()) || path.ends_with(".shp.xml")) {
        return true;
    }
    match path.strip_prefix("buildings/") {
        Some(name) if !name.contains('/') => is_table(p) || name.ends_with(".apportion.json"),
        _ => false,
    }
}

/// Vertices of a geometry to the millimetre, without the closing repeats.
fn vertices_mm(g: &MultiPolygon<f64>) -> BTreeSet<(i64, i64)> {
    g.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.iter())
        .map(|c| ((c.x * 1000.0).round() as i64, (c.y * 1000.0).round() as i64))
        .collect()
}

/// The boundary points of `JZD.csv` against the parcels' vertices: one message per parcel
/// whose declared points and polygon disagree, per declared parcel the package lacks, or
/// for a table that cannot be read.
pub fn check_points(csv: &[u8], sub: &Submission) -> Vec<String> {
    let declared = match read_points_csv(csv) {
        Ok(d) => d,
        Err(e) => return vec![format!("界址点成果表 {JZD} 无法读取，未使用 cannot be read and was not used: {e}")],
    };
    let mut out = Vec::new();
    for (zddm, points) in &declared {
        let Some(parcel) = sub.parcels.iter().find(|p| p.zddm.trim() == zddm.trim()) else {
            out.push(format!(
                "{JZD}: 宗地 {zddm} 不在成果包的宗地图层中 parcel {zddm} is not in the package's parcel layer"
            ));
            continue;
        };
        let (want, have) = (vertices_mm(points), vertices_mm(&parcel.geometry));
        let off = want.difference(&have).count();
        let missing = have.difference(&want).count();
        if off + missing > 0 {
            out.push(format!(
                "{JZD}: 宗地 {zddm} 的界址点与图形不符：{off} 个界址点不是图形顶点，{missing} 个顶点不在表中 \
                 the boundary points of parcel {zddm} disagree with its polygon: {off} declared point(s) are not \
                 vertices, {missing} vertex(es) are not declared"
            ));
        }
    }
    out
}

/// Messages for the package's members: the boundary-point check when `JZD.csv` is there,
/// and one message per member the intake does not use.
pub fn notices(dir: &Path, manifest: &Manifest, sub: &Submission) -> Vec<String> {
    let mut out = Vec::new();
    if manifest.files.iter().any(|f| f.path == JZD) {
        match std::fs::read(dir.join(JZD)) {
            Ok(bytes) => out.extend(check_points(&bytes, sub)),
            Err(e) => out.push(format!("{JZD}: {e}")),
        }
    }
    for f in manifest.files.iter().filter(|f| !used(&f.path)) {
        out.push(format!(
            "成果包文件 {0} 未被受理程序使用（不是图层、楼盘表、分摊输入或界址点成果表）the package member {0} is not \
             used: it is not a layer, a building table, an apportionment input or the boundary-point table",
            f.path
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::used;

    #[test]
    fn layers_tables_and_points_are_used_and_nothing_else() {
        for p in ["ZD.shp", "ZD.DBF", "ZRZ.cpg", "sample.gpkg", "JZD.csv", "buildings/X.csv", "buildings/X.XLSX"] {
            assert!(used(p), "{p}");
        }
        assert!(used("buildings/X.apportion.json"));
        for p in ["README.txt", "photos/1.jpg", "buildings/X.xls", "buildings/sub/X.csv", "other.csv", "a/ZD.shp"] {
            assert!(!used(p), "{p}");
        }
    }
}
