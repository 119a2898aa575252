//! GeoPackage and other vector formats through GDAL (system GDAL 3.6).

use std::path::Path;

use gdal::vector::{FieldValue, Geometry, LayerAccess, OGRwkbGeometryType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use geo_types::{Geometry as GeoGeometry, MultiPolygon};

use super::dbf::Value;
use super::mapping::{RawFeature, RawLayer};
use super::shp::RawShape;
use super::{layer_for_name, LoadError};
use crate::crs::Crs;
use crate::model::Layer;

fn gdal_err(path: &Path, e: impl std::fmt::Display) -> LoadError {
    LoadError::Gdal { path: path.to_path_buf(), detail: e.to_string() }
}

/// Open a vector data source read-only.
pub(crate) fn open(path: &Path) -> Result<Dataset, LoadError> {
    let opts = || DatasetOptions { open_flags: GdalOpenFlags::GDAL_OF_VECTOR, ..DatasetOptions::default() };
    let is_zip = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let result = if is_zip {
        // Zipped shapefiles / GeoPackages are read in place through GDAL's virtual file system.
        Dataset::open_ex(Path::new(&format!("/vsizip/{}", path.display())), opts())
    } else {
        Dataset::open_ex(path, opts())
    };
    result.map_err(|e| {
        let msg = e.to_string();
        let gdal_msg = msg.split("Error msg: ").nth(1).map(|m| m.trim_matches(['\'', ' '])).unwrap_or("");
        let detail = if gdal_msg.is_empty() {
            "not a vector data source GDAL can read (unknown format, empty or damaged)".to_owned()
        } else {
            format!("GDAL cannot open it: {gdal_msg}")
        };
        LoadError::Gdal { path: path.to_path_buf(), detail }
    })
}

fn shape(geom: Option<&Geometry>) -> RawShape {
    let Some(g) = geom else { return RawShape::Null };
    let ty = g.geometry_type();
    let flat = gdal::vector::geometry_type_flatten(ty);
    let zm = gdal::vector::geometry_type_has_z(ty) || gdal::vector::geometry_type_has_m(ty);
    if flat != OGRwkbGeometryType::wkbPolygon && flat != OGRwkbGeometryType::wkbMultiPolygon {
        return RawShape::Other(g.geometry_name());
    }
    if g.is_empty() {
        return RawShape::Polygons { geometry: MultiPolygon::new(Vec::new()), zm };
    }
    let geometry = match g.to_geo() {
        Ok(GeoGeometry::Polygon(p)) => MultiPolygon::new(vec![p]),
        Ok(GeoGeometry::MultiPolygon(mp)) => mp,
        Ok(other) => return RawShape::Other(format!("{other:?}").chars().take(20).collect()),
        Err(e) => return RawShape::Corrupt(e.to_string()),
    };
    let finite = geometry.0.iter().all(|p| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .all(|r| r.0.iter().all(|c| c.x.is_finite() && c.y.is_finite()))
    });
    if !finite {
        return RawShape::NonFinite;
    }
    // Drop degenerate rings the same way the shapefile reader does.
    let rings: Vec<Vec<geo_types::Coord<f64>>> = geometry
        .0
        .iter()
        .flat_map(|p| {
            let mut ext = p.exterior().0.clone();
            if crate::ring::signed_area2(&ext) > 0.0 {
                ext.reverse(); // outer rings clockwise, as in a shapefile
            }
            let holes = p.interiors().iter().map(|h| {
                let mut h = h.0.clone();
                if crate::ring::signed_area2(&h) < 0.0 {
                    h.reverse();
                }
                h
            });
            std::iter::once(ext).chain(holes).collect::<Vec<_>>()
        })
        .collect();
    RawShape::Polygons { geometry: super::shp::assemble_rings(rings), zm }
}

fn value(v: Option<FieldValue>) -> Value {
    match v {
        None => Value::Null,
        Some(FieldValue::StringValue(s)) => Value::Text(s),
        Some(FieldValue::IntegerValue(i)) => Value::Number(f64::from(i)),
        // Integer64 beyond 2^53 loses precision as f64; keep it as text then.
        Some(FieldValue::Integer64Value(i)) if i.unsigned_abs() < (1 << 53) => Value::Number(i as f64),
        Some(FieldValue::Integer64Value(i)) => Value::Text(i.to_string()),
        Some(FieldValue::RealValue(r)) => Value::Number(r),
        Some(FieldValue::DateValue(d)) => Value::Text(d.format("%Y-%m-%d").to_string()),
        Some(FieldValue::DateTimeValue(d)) => Value::Text(d.to_rfc3339()),
        Some(other) => Value::Text(format!("{other:?}")),
    }
}

/// Read every standard layer of a data source. When no layer has a standard name
/// and the source has exactly one layer, that layer is read as the parcels.
pub(crate) fn read(path: &Path) -> Result<Vec<(Layer, RawLayer, Option<Crs>)>, LoadError> {
    let ds = open(path)?;
    let count = ds.layer_count();
    let mut out: Vec<(Layer, RawLayer, Option<Crs>)> = Vec::new();
    for i in 0..count {
        let mut layer = ds.layer(i).map_err(|e| gdal_err(path, e))?;
        let name = layer.name();
        let kind = match layer_for_name(&name) {
            Some(k) => k,
            None if count == 1 => Layer::Parcels,
            None => continue,
        };
        if out.iter().any(|(k, _, _)| *k == kind) {
            continue;
        }
        let crs = layer.spatial_ref().map(|srs| {
            let wkt = srs.to_wkt().ok();
            let epsg = (srs.auth_name().as_deref() == Some("EPSG")).then(|| srs.auth_code().ok()).flatten();
            match epsg.and_then(|e| u32::try_from(e).ok()) {
                Some(e) => Crs { wkt, ..Crs::from_epsg(e) },
                None => Crs::from_wkt(wkt.as_deref().unwrap_or_default()),
            }
        });
        let field_names: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
        let n = field_names.len();
        let mut values = Vec::new();
        let features: Vec<RawFeature> = layer
            .features()
            .enumerate()
            .map(|(index, f)| {
                values.extend((0..n).map(|k| value(f.field(k).ok().flatten())));
                RawFeature { index, shape: shape(f.geometry()) }
            })
            .collect();
        let total = features.len();
        let source = format!("{}:{name}", path.display());
        out.push((kind, RawLayer { source, field_names, features, values, total }, crs));
    }
    Ok(out)
}
