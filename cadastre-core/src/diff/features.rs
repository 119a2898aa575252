//! Parcels and buildings: added, changed field by field, removed.

use std::collections::{BTreeMap, BTreeSet};

use geo_types::MultiPolygon;

use super::points::moved_points;
use super::{bbox_of, FeatureEntry, FieldChange, LayerDiff, StoreSide};
use crate::area::{round2, PlanarArea};
use crate::model::{Building, BuildingAttributes, Parcel, ParcelAttributes, Submission};

/// Coordinates closer than this (m) are the same vertex: the store keeps what was read,
/// so equal data compares bit-equal; the tolerance only absorbs a re-projection's last digit.
const SAME_VERTEX_M: f64 = 0.0005;

pub(super) fn same_geometry(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    a.0.len() == b.0.len()
        && a.0.iter().zip(&b.0).all(|(p, q)| {
            let (pr, qr): (Vec<_>, Vec<_>) = (
                std::iter::once(p.exterior()).chain(p.interiors()).collect(),
                std::iter::once(q.exterior()).chain(q.interiors()).collect(),
            );
            pr.len() == qr.len()
                && pr.iter().zip(&qr).all(|(r, s)| {
                    r.0.len() == s.0.len()
                        && r.0
                            .iter()
                            .zip(&s.0)
                            .all(|(c, d)| (c.x - d.x).abs() <= SAME_VERTEX_M && (c.y - d.y).abs() <= SAME_VERTEX_M)
                })
        })
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn num(v: Option<f64>) -> Option<String> {
    v.map(|x| format!("{:.2}", round2(x)))
}

fn int(v: Option<i64>) -> Option<String> {
    v.map(|x| x.to_string())
}

/// The parcel fields the store keeps, in report order.
fn parcel_fields(a: &ParcelAttributes) -> [(&'static str, Option<String>); 5] {
    [("ZL", text(&a.zl)), ("ZDMJ", num(a.zdmj)), ("YT", text(&a.yt)), ("QLLX", text(&a.qllx)), ("QLXZ", text(&a.qlxz))]
}

/// The building fields the store keeps, in report order.
fn building_fields(a: &BuildingAttributes) -> [(&'static str, Option<String>); 7] {
    [
        ("JZWMC", text(&a.jzwmc)),
        ("DSCS", int(a.dscs)),
        ("DXCS", int(a.dxcs)),
        ("FWJG", text(&a.fwjg)),
        ("GHYT", text(&a.ghyt)),
        ("YCJZMJ", num(a.ycjzmj)),
        ("SCJZMJ", num(a.scjzmj)),
    ]
}

fn field_changes<const N: usize>(
    before: [(&'static str, Option<String>); N],
    after: [(&'static str, Option<String>); N],
) -> Vec<FieldChange> {
    before
        .into_iter()
        .zip(after)
        .filter(|((_, b), (_, a))| a != b)
        .map(|((field, before), (_, after))| FieldChange { field: field.to_owned(), before, after })
        .collect()
}

fn entry(
    id: &str,
    parcel: &str,
    before: Option<&MultiPolygon<f64>>,
    after: Option<&MultiPolygon<f64>>,
) -> FeatureEntry {
    let both: Vec<&MultiPolygon<f64>> = before.into_iter().chain(after).collect();
    FeatureEntry {
        id: id.to_owned(),
        parcel: parcel.to_owned(),
        area_before: before.map(|g| round2(g.planar_area())),
        area_after: after.map(|g| round2(g.planar_area())),
        fields: Vec::new(),
        geometry_changed: false,
        moved_points: Vec::new(),
        geometry: after.or(before).cloned().unwrap_or_else(|| MultiPolygon(Vec::new())),
        bbox: bbox_of(&both),
    }
}

pub(super) fn parcels(store: &BTreeMap<&str, &Parcel>, package: &Submission, replaced: &BTreeSet<&str>) -> LayerDiff {
    let mut out = LayerDiff::default();
    for p in &package.parcels {
        let id = p.zddm.trim();
        match store.get(id) {
            None => out.added.push(entry(id, "", None, Some(&p.geometry))),
            Some(old) => {
                let fields = field_changes(parcel_fields(&old.attributes), parcel_fields(&p.attributes));
                let geometry_changed = !same_geometry(&old.geometry, &p.geometry);
                if fields.is_empty() && !geometry_changed {
                    out.unchanged += 1;
                    continue;
                }
                let mut e = entry(id, "", Some(&old.geometry), Some(&p.geometry));
                e.fields = fields;
                e.geometry_changed = geometry_changed;
                if geometry_changed {
                    e.moved_points = moved_points(id, &old.geometry, &p.geometry);
                }
                out.changed.push(e);
            }
        }
    }
    for code in replaced {
        if let Some(old) = store.get(code) {
            out.removed.push(entry(code, "", Some(&old.geometry), None));
        }
    }
    out
}

pub(super) fn buildings(
    store: &StoreSide,
    package: &Submission,
    replaced: &BTreeSet<&str>,
    package_parcels: &BTreeSet<&str>,
) -> LayerDiff {
    let mut out = LayerDiff::default();
    let by_code: BTreeMap<&str, &Building> = store.buildings.iter().map(|b| (b.zrzh.trim(), b)).collect();
    let in_package: BTreeSet<&str> = package.buildings.iter().map(|b| b.zrzh.trim()).collect();
    for b in &package.buildings {
        let id = b.zrzh.trim();
        match by_code.get(id) {
            None => out.added.push(entry(id, b.zddm.trim(), None, Some(&b.footprint))),
            Some(old) => {
                let fields = field_changes(building_fields(&old.attributes), building_fields(&b.attributes));
                let geometry_changed = !same_geometry(&old.footprint, &b.footprint);
                if fields.is_empty() && !geometry_changed {
                    out.unchanged += 1;
                    continue;
                }
                let mut e = entry(id, b.zddm.trim(), Some(&old.footprint), Some(&b.footprint));
                e.fields = fields;
                e.geometry_changed = geometry_changed;
                out.changed.push(e);
            }
        }
    }
    // A building goes with its parcel: replaced parcels take theirs along, and a parcel the
    // package carries keeps only the buildings the package lists.
    for b in &store.buildings {
        let parcel = b.zrzh.get(..19).unwrap_or("");
        if !in_package.contains(b.zrzh.trim()) && (replaced.contains(parcel) || package_parcels.contains(parcel)) {
            out.removed.push(entry(b.zrzh.trim(), parcel, Some(&b.footprint), None));
        }
    }
    out
}
