//! Households / units (户 H): attributes, areas, status, and the owner's name and
//! ID number encrypted at rest and masked unless the caller may see them.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use unit_code::UnitCode;
use utoipa::ToSchema;

use crate::crypto::{mask_id_number, mask_name, PiiCipher};
use crate::db::audit::{self, AuditEntry};
use crate::db::edit::{
    check_area, check_opt_len, check_precondition, lock_object, merge, present, IfMatch, MAX_ADDRESS_CHARS,
    MAX_CODE_CHARS, MAX_NAME_CHARS,
};
use crate::db::error::{Result, StoreError};
use crate::principal::{Action, Denied, Principal};

/// A household as the API returns it (no coordinates).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Household {
    /// 不动产单元号 BDCDYH (28 characters).
    #[serde(rename = "BDCDYH")]
    pub bdcdyh: String,
    /// 自然幢号 ZRZH.
    #[serde(rename = "ZRZH")]
    pub zrzh: String,
    /// 房屋编码 FWBM.
    #[serde(rename = "FWBM")]
    pub fwbm: Option<String>,
    /// 逻辑幢号.
    #[serde(rename = "LJZH")]
    pub ljzh: Option<String>,
    /// 实际层.
    #[serde(rename = "SJC")]
    pub sjc: i32,
    /// 名义层.
    #[serde(rename = "MYC")]
    pub myc: String,
    /// 单元号.
    #[serde(rename = "DYH")]
    pub dyh: String,
    /// 室号部位 / 户号.
    #[serde(rename = "SHBW")]
    pub shbw: String,
    /// 户型.
    #[serde(rename = "HX")]
    pub hx: Option<String>,
    /// 房屋用途.
    #[serde(rename = "FWYT")]
    pub fwyt: Option<String>,
    /// 坐落.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// Areas (m²) and the apportionment coefficient.
    #[serde(flatten)]
    pub areas: HouseholdAreas,
    /// 抵押.
    pub mortgaged: bool,
    /// 查封.
    pub sealed: bool,
    /// 权利人 (owner name): masked (张**) unless the caller may see personal data.
    #[serde(rename = "QLR")]
    pub qlr: Option<String>,
    /// 证件号 (owner ID number): masked (3301**********1234) likewise.
    #[serde(rename = "ZJH")]
    pub zjh: Option<String>,
    /// Whether `QLR`/`ZJH` are masked.
    pub pii_masked: bool,
    /// current / historical / temporary.
    pub state: String,
    /// Version row id.
    pub version_id: i64,
    /// When this version became current.
    pub valid_from: DateTime<Utc>,
}

/// A household's areas (m²) and apportionment coefficient: one definition for the stored row,
/// the API answer and the edit body (flattened into each, so the JSON keys stay flat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct HouseholdAreas {
    /// 预测套内建筑面积.
    #[serde(default, rename = "YCTNJZMJ")]
    pub yctnjzmj: Option<f64>,
    /// 预测分摊建筑面积.
    #[serde(default, rename = "YCFTJZMJ")]
    pub ycftjzmj: Option<f64>,
    /// 预测建筑面积.
    #[serde(default, rename = "YCJZMJ")]
    pub ycjzmj: Option<f64>,
    /// 实测套内建筑面积.
    #[serde(default, rename = "SCTNJZMJ")]
    pub sctnjzmj: Option<f64>,
    /// 实测分摊建筑面积.
    #[serde(default, rename = "SCFTJZMJ")]
    pub scftjzmj: Option<f64>,
    /// 实测建筑面积.
    #[serde(default, rename = "SCJZMJ")]
    pub scjzmj: Option<f64>,
    /// 分摊系数.
    #[serde(default, rename = "FTXS")]
    pub ftxs: Option<f64>,
    /// 共有土地面积.
    #[serde(default, rename = "GYTDMJ")]
    pub gytdmj: Option<f64>,
    /// 分摊土地面积.
    #[serde(default, rename = "FTTDMJ")]
    pub fttdmj: Option<f64>,
    /// 独用土地面积.
    #[serde(default, rename = "DYTDMJ")]
    pub dytdmj: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    bdcdyh: String,
    zrzh: String,
    fwbm: Option<String>,
    ljzh: Option<String>,
    sjc: i32,
    myc: String,
    dyh: String,
    shbw: String,
    hx: Option<String>,
    fwyt: Option<String>,
    zl: String,
    #[sqlx(flatten)]
    areas: HouseholdAreas,
    mortgaged: bool,
    sealed: bool,
    qlr_enc: Option<Vec<u8>>,
    zjh_enc: Option<Vec<u8>>,
    state: String,
    version_id: i64,
    valid_from: DateTime<Utc>,
}

const COLUMNS: &str = "bdcdyh, zrzh, fwbm, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl, \
     yctnjzmj::float8 AS yctnjzmj, ycftjzmj::float8 AS ycftjzmj, ycjzmj::float8 AS ycjzmj, \
     sctnjzmj::float8 AS sctnjzmj, scftjzmj::float8 AS scftjzmj, scjzmj::float8 AS scjzmj, ftxs::float8 AS ftxs, \
     gytdmj::float8 AS gytdmj, fttdmj::float8 AS fttdmj, dytdmj::float8 AS dytdmj, mortgaged, sealed, \
     qlr_enc, zjh_enc, state, version_id, valid_from";

/// The current version of a household, locked for writing its next one ($1 county, $2 BDCDYH).
pub(crate) static LOCK_CURRENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM households
         WHERE county = $1::bpchar AND bdcdyh = $2::bpchar AND state = 'current' FOR UPDATE"
    )
});

/// Makes a version historical ($1 county, $2 version id).
pub(crate) const CLOSE_VERSION: &str =
    "UPDATE households SET state = 'historical', valid_to = now() WHERE county = $1::bpchar AND version_id = $2";

impl Row {
    /// Decrypts and, unless `show_pii`, masks the owner fields.
    fn into_household(self, show_pii: bool, cipher: &PiiCipher) -> Result<Household> {
        let open = |sealed: &Option<Vec<u8>>, mask: fn(&str) -> String| -> Result<Option<String>> {
            sealed
                .as_deref()
                .map(|s| {
                    cipher
                        .decrypt(s)
                        .map(|plain| if show_pii { plain } else { mask(&plain) })
                        .map_err(|e| StoreError::internal("decrypting owner data", e))
                })
                .transpose()
        };
        Ok(Household {
            qlr: open(&self.qlr_enc, mask_name)?,
            zjh: open(&self.zjh_enc, mask_id_number)?,
            pii_masked: !show_pii,
            bdcdyh: self.bdcdyh,
            zrzh: self.zrzh,
            fwbm: self.fwbm,
            ljzh: self.ljzh,
            sjc: self.sjc,
            myc: self.myc,
            dyh: self.dyh,
            shbw: self.shbw,
            hx: self.hx,
            fwyt: self.fwyt,
            zl: self.zl,
            areas: self.areas,
            mortgaged: self.mortgaged,
            sealed: self.sealed,
            state: self.state,
            version_id: self.version_id,
            valid_from: self.valid_from,
        })
    }
}

/// Body of a household create/edit. A field left out keeps its current value;
/// `null` clears a nullable one. `SJC` and `MYC` are required to create.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct HouseholdInput {
    /// 房屋编码 (26 characters).
    #[serde(rename = "FWBM", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 26)]
    pub fwbm: Option<Option<String>>,
    /// 逻辑幢号.
    #[serde(rename = "LJZH", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub ljzh: Option<Option<String>>,
    /// 实际层.
    #[serde(rename = "SJC")]
    pub sjc: Option<i32>,
    /// 名义层.
    #[serde(rename = "MYC")]
    #[schema(max_length = 50)]
    pub myc: Option<String>,
    /// 单元号.
    #[serde(rename = "DYH")]
    #[schema(max_length = 50)]
    pub dyh: Option<String>,
    /// 室号部位.
    #[serde(rename = "SHBW")]
    #[schema(max_length = 50)]
    pub shbw: Option<String>,
    /// 户型.
    #[serde(rename = "HX", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub hx: Option<Option<String>>,
    /// 房屋用途.
    #[serde(rename = "FWYT", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub fwyt: Option<Option<String>>,
    /// 坐落 (at most 255 characters).
    #[serde(rename = "ZL")]
    #[schema(max_length = 255)]
    pub zl: Option<String>,
    /// Areas (m², non-negative) and the apportionment coefficient.
    #[serde(flatten)]
    pub areas: AreasPatch,
    /// 抵押 (mortgaged): legal status, written only by roles that may (admin).
    pub mortgaged: Option<bool>,
    /// 查封 (sealed): legal status, written only by roles that may (admin).
    pub sealed: Option<bool>,
    /// 权利人 name (stored encrypted); only roles that may see it may change it.
    #[serde(rename = "QLR", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 100)]
    pub qlr: Option<Option<String>>,
    /// 证件号 (stored encrypted); likewise.
    #[serde(rename = "ZJH", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub zjh: Option<Option<String>>,
    /// Keys the body should not have; refused by [`upsert`] (serde's `deny_unknown_fields`
    /// cannot be combined with `flatten`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: std::collections::BTreeMap<String, Value>,
}

macro_rules! areas_patch {
    ($($field:ident => $name:literal, $doc:literal;)*) => {
        /// Areas named in an edit: left out = keep, `null` = clear.
        #[derive(Debug, Clone, Default, Deserialize, ToSchema)]
        pub struct AreasPatch {
            $(
                #[doc = $doc]
                #[serde(rename = $name, default, deserialize_with = "present")]
                #[schema(value_type = Option<f64>, nullable, minimum = 0.0)]
                pub $field: Option<Option<f64>>,
            )*
        }

        impl AreasPatch {
            /// Refuses negative values.
            pub fn check(&self) -> Result<()> {
                $( check_area($name, self.$field.flatten())?; )*
                Ok(())
            }

            /// The areas after the edit.
            pub fn apply(&self, current: Option<&HouseholdAreas>) -> HouseholdAreas {
                HouseholdAreas {
                    $( $field: merge(&self.$field, current.map(|c| &c.$field)), )*
                }
            }
        }
    };
}

areas_patch! {
    yctnjzmj => "YCTNJZMJ", "预测套内建筑面积.";
    ycftjzmj => "YCFTJZMJ", "预测分摊建筑面积.";
    ycjzmj => "YCJZMJ", "预测建筑面积.";
    sctnjzmj => "SCTNJZMJ", "实测套内建筑面积.";
    scftjzmj => "SCFTJZMJ", "实测分摊建筑面积.";
    scjzmj => "SCJZMJ", "实测建筑面积.";
    ftxs => "FTXS", "分摊系数.";
    gytdmj => "GYTDMJ", "共有土地面积.";
    fttdmj => "FTTDMJ", "分摊土地面积.";
    dytdmj => "DYTDMJ", "独用土地面积.";
}

impl HouseholdInput {
    /// The limits checked at the edge: text lengths, non-negative areas, known keys.
    pub fn check(&self) -> Result<()> {
        if let Some(key) = self.unknown.keys().next() {
            return Err(StoreError::Invalid(format!("unknown field {key:?} in the household body")));
        }
        check_opt_len("FWBM", self.fwbm.clone().flatten().as_deref(), 26)?;
        check_opt_len("LJZH", self.ljzh.clone().flatten().as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("MYC", self.myc.as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("DYH", self.dyh.as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("SHBW", self.shbw.as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("HX", self.hx.clone().flatten().as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("FWYT", self.fwyt.clone().flatten().as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("ZL", self.zl.as_deref(), MAX_ADDRESS_CHARS)?;
        check_opt_len("QLR", self.qlr.clone().flatten().as_deref(), MAX_NAME_CHARS)?;
        check_opt_len("ZJH", self.zjh.clone().flatten().as_deref(), MAX_CODE_CHARS)?;
        self.areas.check()
    }
}

/// Current household by unit code.
pub async fn get_current(pool: &PgPool, bdcdyh: &str, show_pii: bool, cipher: &PiiCipher) -> Result<Option<Household>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM households WHERE county = left($1, 6)::bpchar AND bdcdyh = $1::bpchar AND state = 'current'"
    ))
    .bind(bdcdyh)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("loading household"))?;
    row.map(|r| r.into_household(show_pii, cipher)).transpose()
}

/// Current households of a building.
pub async fn of_building(pool: &PgPool, zrzh: &str, show_pii: bool, cipher: &PiiCipher) -> Result<Vec<Household>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM households WHERE county = left($1, 6)::bpchar AND zrzh = $1::bpchar AND state = 'current' ORDER BY bdcdyh"
    ))
    .bind(zrzh)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("loading households"))?;
    rows.into_iter().map(|r| r.into_household(show_pii, cipher)).collect()
}

/// The audit image of a household: everything but the owner fields, which are
/// recorded only as "changed or not" so the audit log holds no personal data.
fn audit_image(h: &Household, pii_changed: bool) -> Value {
    let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("QLR");
        m.remove("ZJH");
        m.remove("pii_masked");
        m.insert("pii_changed".into(), Value::Bool(pii_changed));
    }
    v
}

/// Creates or edits a household (fixture code F only), versioned and audited;
/// [`upsert_if`] without a precondition.
pub async fn upsert(
    pool: &PgPool,
    who: &Principal,
    cipher: &PiiCipher,
    bdcdyh: &UnitCode,
    input: &HouseholdInput,
) -> Result<Household> {
    upsert_if(pool, who, cipher, bdcdyh, input, None).await
}

/// Creates or edits a household: fields left out keep their values, `if_match`
/// must name the current version, the legal status flags change only for roles
/// that may ([`Action::WriteLegalStatus`]), and a role that may not see the
/// owner's name and ID may not overwrite them. Versioned and audited.
pub async fn upsert_if(
    pool: &PgPool,
    who: &Principal,
    cipher: &PiiCipher,
    code: &UnitCode,
    input: &HouseholdInput,
    if_match: Option<&IfMatch>,
) -> Result<Household> {
    let Some(building) = code.building() else {
        return Err(StoreError::Invalid("households need a unit code with fixture feature F".into()));
    };
    input.check()?;
    let (bdcdyh, county) = (code.as_str(), code.county());
    let (county, zrzh) = (county.as_str(), building.as_str());
    let seal = |v: &Option<String>| -> Result<Option<Vec<u8>>> {
        v.as_deref()
            .map(|s| cipher.encrypt(s).map_err(|e| StoreError::internal("encrypting owner data", e)))
            .transpose()
    };
    let mut tx = pool.begin().await.map_err(StoreError::db("starting household write"))?;
    lock_object(&mut tx, "household", bdcdyh).await?;
    let building_exists: bool = sqlx::query_scalar(crate::db::buildings::BUILDING_EXISTS)
        .bind(county)
        .bind(zrzh)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::db("checking building of household"))?;
    if !building_exists {
        return Err(StoreError::Invalid(format!("building {zrzh} of unit {bdcdyh} does not exist")));
    }
    let before_row: Option<Row> = sqlx::query_as(LOCK_CURRENT.as_str())
        .bind(county)
        .bind(bdcdyh)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("locking household"))?;
    check_precondition(if_match, &format!("household {bdcdyh}"), before_row.as_ref().map(|r| r.version_id))?;
    let (before_qlr, before_zjh) = before_row.as_ref().map_or((None, None), |r| (r.qlr_enc.clone(), r.zjh_enc.clone()));
    let before = before_row.map(|r| r.into_household(true, cipher)).transpose()?;
    let b = before.as_ref();
    // Legal status: only a role that may, or the same value (an echo of what was read).
    let (mortgaged_now, sealed_now) = b.map_or((false, false), |b| (b.mortgaged, b.sealed));
    let mortgaged = input.mortgaged.unwrap_or(mortgaged_now);
    let sealed = input.sealed.unwrap_or(sealed_now);
    if (mortgaged, sealed) != (mortgaged_now, sealed_now) {
        who.require(Action::WriteLegalStatus)?;
    }
    // Owner data: a role that cannot read it cannot overwrite it.
    let pii_named = input.qlr.is_some() || input.zjh.is_some();
    if pii_named && !who.may_see_pii() && (before_qlr.is_some() || before_zjh.is_some()) {
        return Err(StoreError::Denied(Denied::Action("overwrite personal data (QLR/ZJH) it may not see")));
    }
    let qlr_enc = match &input.qlr {
        Some(v) => seal(v)?,
        None => before_qlr,
    };
    let zjh_enc = match &input.zjh {
        Some(v) => seal(v)?,
        None => before_zjh,
    };
    let required = |field: &str| StoreError::Invalid(format!("{field} is required to create household {bdcdyh}"));
    let sjc = match (input.sjc, b) {
        (Some(v), _) => v,
        (None, Some(b)) => b.sjc,
        (None, None) => return Err(required("SJC")),
    };
    let myc = match (&input.myc, b) {
        (Some(v), _) => v.clone(),
        (None, Some(b)) => b.myc.clone(),
        (None, None) => return Err(required("MYC")),
    };
    let text = |named: &Option<String>, current: Option<&String>| {
        named.clone().or_else(|| current.cloned()).unwrap_or_default()
    };
    let areas = input.areas.apply(b.map(|b| &b.areas));
    if let Some(b) = b {
        sqlx::query(CLOSE_VERSION)
            .bind(county)
            .bind(b.version_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("closing household version"))?;
    }
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO households (county, bdcdyh, zrzh, fwbm, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl,
             yctnjzmj, ycftjzmj, ycjzmj, sctnjzmj, scftjzmj, scjzmj, ftxs, gytdmj, fttdmj, dytdmj,
             mortgaged, sealed, qlr_enc, zjh_enc)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                 $21, $22, $23, $24, $25, $26)
         RETURNING {COLUMNS}"
    ))
    .bind(county)
    .bind(bdcdyh)
    .bind(zrzh)
    .bind(merge(&input.fwbm, b.map(|b| &b.fwbm)))
    .bind(merge(&input.ljzh, b.map(|b| &b.ljzh)))
    .bind(sjc)
    .bind(myc)
    .bind(text(&input.dyh, b.map(|b| &b.dyh)))
    .bind(text(&input.shbw, b.map(|b| &b.shbw)))
    .bind(merge(&input.hx, b.map(|b| &b.hx)))
    .bind(merge(&input.fwyt, b.map(|b| &b.fwyt)))
    .bind(text(&input.zl, b.map(|b| &b.zl)))
    .bind(areas.yctnjzmj)
    .bind(areas.ycftjzmj)
    .bind(areas.ycjzmj)
    .bind(areas.sctnjzmj)
    .bind(areas.scftjzmj)
    .bind(areas.scjzmj)
    .bind(areas.ftxs)
    .bind(areas.gytdmj)
    .bind(areas.fttdmj)
    .bind(areas.dytdmj)
    .bind(mortgaged)
    .bind(sealed)
    .bind(qlr_enc)
    .bind(zjh_enc)
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::db("inserting household version"))?;
    let after = row.into_household(true, cipher)?;
    let pii_changed = before.as_ref().is_none_or(|b| b.qlr != after.qlr || b.zjh != after.zjh);
    audit::record(
        &mut tx,
        who,
        AuditEntry {
            county,
            action: if before.is_some() { "household.update" } else { "household.create" },
            object_type: "household",
            object_key: bdcdyh,
            before: before.as_ref().map(|b| audit_image(b, false)),
            after: Some(audit_image(&after, pii_changed)),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::db("committing household write"))?;
    // Answer with what this caller may see.
    if who.may_see_pii() {
        Ok(after)
    } else {
        let mut masked = after;
        masked.qlr = masked.qlr.as_deref().map(mask_name);
        masked.zjh = masked.zjh.as_deref().map(mask_id_number);
        masked.pii_masked = true;
        Ok(masked)
    }
}
