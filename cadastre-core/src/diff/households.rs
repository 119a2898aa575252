//! Households (户) of a building table: added, changed field by field, removed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::FieldChange;
use crate::building::Household;

/// The fields of a household that a survey owns, in report order.
pub const FIELDS: [&str; 10] = ["LJZH", "MYC", "SJC", "DYH", "SHBW", "HX", "FWYT", "ZL", "YCTNJZMJ", "SCTNJZMJ"];

/// One household, as comparable text per field of [`FIELDS`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HouseholdRecord {
    /// 不动产单元号 BDCDYH; `None` for a new household (code issued on acceptance).
    pub bdcdyh: Option<String>,
    /// 户号 HH.
    pub hh: String,
    /// Values by field name; absent or empty = `None`.
    pub fields: BTreeMap<&'static str, Option<String>>,
}

fn clean(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// An area as the store writes it (2 decimals).
pub fn area_text(v: f64) -> String {
    format!("{v:.2}")
}

impl HouseholdRecord {
    /// A record with the given values (unknown field names are ignored).
    pub fn new(bdcdyh: Option<&str>, hh: &str, values: &[(&str, Option<String>)]) -> Self {
        let mut fields: BTreeMap<&'static str, Option<String>> = FIELDS.iter().map(|f| (*f, None)).collect();
        for (name, v) in values {
            if let Some(f) = FIELDS.iter().find(|f| **f == *name) {
                fields.insert(f, v.as_deref().and_then(clean));
            }
        }
        Self { bdcdyh: bdcdyh.and_then(clean), hh: hh.trim().to_owned(), fields }
    }

    /// From a building-table row.
    pub fn from_household(h: &Household) -> Self {
        let area = |a: Option<crate::apportion::Area>| a.map(|a| area_text(a.m2()));
        Self::new(
            h.unit_code.as_deref(),
            &h.hh,
            &[
                ("LJZH", Some(h.ljzh.clone())),
                ("MYC", Some(h.floor.to_string())),
                ("SJC", Some(h.physical.from.to_string())),
                ("DYH", Some(h.stair_unit.clone())),
                ("SHBW", Some(h.room.clone())),
                ("HX", Some(h.layout.clone())),
                ("FWYT", Some(h.usage.clone())),
                ("ZL", Some(h.address.clone())),
                ("YCTNJZMJ", area(h.predicted_inner)),
                ("SCTNJZMJ", area(h.measured_inner)),
            ],
        )
    }
}

/// A building table in the package and the store's current households of that building.
#[derive(Debug, Clone, Default)]
pub struct TableSide {
    /// 自然幢号 ZRZH (or a temporary id).
    pub zrzh: String,
    /// Current households in the store.
    pub store: Vec<HouseholdRecord>,
    /// Households of the package's table.
    pub package: Vec<HouseholdRecord>,
}

/// One household in the diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdChange {
    /// BDCDYH; `None` for a new household.
    pub bdcdyh: Option<String>,
    /// 户号 HH.
    pub hh: String,
    /// 室号部位 SHBW.
    pub room: Option<String>,
    /// Fields that differ (changed only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// One household of the package's table as the package gives it: what the reviewers'
/// building-table grid places by floor (MYC), stair unit (DYH) and room (SHBW).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageHousehold {
    /// BDCDYH; `None` for a new household.
    pub bdcdyh: Option<String>,
    /// 户号 HH.
    pub hh: String,
    /// The non-empty values of [`FIELDS`], by field name.
    pub fields: BTreeMap<String, String>,
}

impl PackageHousehold {
    fn of(r: &HouseholdRecord) -> Self {
        Self {
            bdcdyh: r.bdcdyh.clone(),
            hh: r.hh.clone(),
            fields: r.fields.iter().filter_map(|(k, v)| v.as_ref().map(|v| ((*k).to_owned(), v.clone()))).collect(),
        }
    }
}

/// Households of one building table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableDiff {
    /// 自然幢号.
    pub zrzh: String,
    /// New households.
    pub added: Vec<HouseholdChange>,
    /// Households whose surveyed fields differ.
    pub changed: Vec<HouseholdChange>,
    /// Current households the table no longer lists (a table in a package is the whole building).
    pub removed: Vec<HouseholdChange>,
    /// Households as they are.
    pub unchanged: usize,
    /// Every household of the package's table, in the table's order (for showing the
    /// package's table against the store's; absent in diffs stored before it was added).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub package: Vec<PackageHousehold>,
}

impl TableDiff {
    /// Whether the table changes nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

fn change(r: &HouseholdRecord, fields: Vec<FieldChange>) -> HouseholdChange {
    HouseholdChange {
        bdcdyh: r.bdcdyh.clone(),
        hh: r.hh.clone(),
        room: r.fields.get("SHBW").cloned().flatten(),
        fields,
    }
}

/// Compares one table, by BDCDYH.
pub fn diff_table(side: &TableSide) -> TableDiff {
    let mut out = TableDiff {
        zrzh: side.zrzh.clone(),
        package: side.package.iter().map(PackageHousehold::of).collect(),
        ..TableDiff::default()
    };
    let store: BTreeMap<&str, &HouseholdRecord> =
        side.store.iter().filter_map(|r| r.bdcdyh.as_deref().map(|c| (c, r))).collect();
    let mut listed = BTreeSet::new();
    for r in &side.package {
        let Some(old) = r.bdcdyh.as_deref().and_then(|c| store.get(c)) else {
            out.added.push(change(r, Vec::new()));
            continue;
        };
        listed.insert(r.bdcdyh.as_deref().unwrap_or(""));
        let fields: Vec<FieldChange> = FIELDS
            .iter()
            .filter_map(|f| {
                let (b, a) = (old.fields.get(f).cloned().flatten(), r.fields.get(f).cloned().flatten());
                (a != b).then(|| FieldChange { field: (*f).to_owned(), before: b, after: a })
            })
            .collect();
        if fields.is_empty() {
            out.unchanged += 1;
        } else {
            out.changed.push(change(r, fields));
        }
    }
    for (code, r) in &store {
        if !listed.contains(code) {
            out.removed.push(change(r, Vec::new()));
        }
    }
    out
}
