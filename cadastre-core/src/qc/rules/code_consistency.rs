//! `code.consistency`: codes that disagree with location or with each other:
//! a parcel's ZDDM sub-district vs the sub-district it lies in and vs its DJZQDM;
//! ZDTZM and BDCDYH vs ZDDM; a building's ZRZH vs its ZDDM, its ZDDM vs the parcel it
//! stands in. Malformed codes are left to `code.format`. One finding per object.

use rayon::prelude::*;
use unit_code::{BuildingCode, ParcelCode, UnitCode};

use crate::qc::config::NoParams;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, CODE_CONSISTENCY};
use crate::qc::geom;
use crate::qc::registry::{Declare, Scope, Shared};
use crate::qc::rule::{building_code, Rule};
use crate::ring::Position;

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeConsistency;

impl Declare for CodeConsistency {
    type Settings = NoParams;
    const SCOPE: Scope = Scope::CountyWide;
    const ATTRIBUTES_READ: &'static [&'static str] = &["DJZQDM", "ZDTZM", "BDCDYH"];
    const SHARED: &'static [Shared] = &[Shared::ParcelSubdistrict, Shared::BuildingParcels];
}

type Problem = (Vec<String>, geo_types::Coord, Vec<(String, String)>);

fn parcel_problems(ctx: &Context<'_>, i: usize) -> Option<Problem> {
    let p = &ctx.submission.parcels[i];
    let code: ParcelCode = p.zddm.parse().ok()?;
    let sd = code.subdistrict();
    let sd = sd.as_str();
    let mut why = Vec::new();
    if let Some(k) = ctx.parcel_subdistrict()[i] {
        let loc = ctx.subdistricts[k].code;
        if loc != sd {
            why.push((
                format!("代码中的地籍子区 {sd} 与所在地籍子区 {loc} 不符"),
                format!("sub-district {sd} in the code but the parcel lies in {loc}"),
            ));
        }
    }
    if let Some(d) = p.attributes.djzqdm.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        if d != sd {
            why.push((
                format!("DJZQDM {d} 与代码中的地籍子区 {sd} 不符"),
                format!("DJZQDM {d} differs from sub-district {sd} in the code"),
            ));
        }
    }
    if let Some(t) = p.attributes.zdtzm.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if t != code.feature().to_string() {
            why.push((format!("宗地特征码 ZDTZM {t} 与代码不符"), format!("ZDTZM {t} differs from the code")));
        }
    }
    // A malformed unit code is `code.format`'s.
    if let Some(u) = p.attributes.bdcdyh.as_deref().and_then(|u| u.trim().parse::<UnitCode>().ok()) {
        if u.parcel() != code {
            why.push((
                format!("不动产单元号 {u} 的前 19 位与宗地代码不符"),
                format!("unit code {u} does not start with the parcel code"),
            ));
        }
    }
    if why.is_empty() {
        None
    } else {
        Some((vec![p.zddm.clone()], ctx.parcels[i].location(), why))
    }
}

fn building_problems(ctx: &Context<'_>, b: usize) -> Option<Problem> {
    let bld = &ctx.submission.buildings[b];
    let mut why = Vec::new();
    // The objects named by a finding, as text only when there is one (almost never).
    let mut host_code: Option<&str> = None;
    let zddm = bld.zddm.trim();
    let zrzh = bld.zrzh.parse::<BuildingCode>().ok();
    if zrzh.is_some_and(|z| !zddm.is_empty() && z.parcel().as_str() != zddm) {
        why.push((
            format!("自然幢号的前 19 位与其宗地代码 {zddm} 不符"),
            format!("ZRZH does not start with its ZDDM {zddm}"),
        ));
    }
    if !zddm.is_empty() && !ctx.building_parcels()[b].zddm_known {
        why.push((format!("宗地代码 {zddm} 不对应任何宗地"), format!("ZDDM {zddm} names no parcel")));
    }
    // The parcel the footprint stands in, found by location.
    if let Some(p) = ctx.buildings[b].interior {
        let inside = |i: usize| {
            ctx.parcels[i].overlay_ok() && geom::position(&ctx.submission.parcels[i].geometry, p) == Position::Inside
        };
        // Usually the building stands in its own parcel: one point-in-polygon test.
        let host = super::building_outside::own_parcel(ctx, b).filter(|&i| inside(i)).or_else(|| {
            let env = geo_types::Rect::new(p, p);
            ctx.parcels_near(&env).find(|&i| inside(i))
        });
        if let Some(h) = host {
            let hz = &ctx.submission.parcels[h].zddm;
            if !zddm.is_empty() && hz != zddm && hz.parse::<ParcelCode>().is_ok() {
                why.push((
                    format!("位于宗地 {hz} 内，但宗地代码为 {zddm}"),
                    format!("stands in parcel {hz} but its ZDDM is {zddm}"),
                ));
                host_code = Some(hz);
            }
        }
    }
    let unit = bld.attributes.bdcdyh.as_deref().and_then(|u| u.trim().parse::<UnitCode>().ok());
    if let (Some(u), Some(zrzh)) = (unit, zrzh) {
        if u.building() != Some(zrzh) {
            why.push((
                format!("不动产单元号 {u} 的前 24 位与自然幢号不符"),
                format!("unit code {u} does not start with the building number"),
            ));
        }
    }
    if why.is_empty() {
        return None;
    }
    let mut objects = vec![building_code(ctx, b)];
    if !zddm.is_empty() {
        objects.push(zddm.to_string());
    }
    objects.extend(host_code.map(str::to_string));
    Some((objects, ctx.buildings[b].location(), why))
}

impl Rule for CodeConsistency {
    fn id(&self) -> &'static str {
        CODE_CONSISTENCY
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let parcels: Vec<Problem> =
            (0..ctx.parcels.len()).into_par_iter().filter_map(|i| parcel_problems(ctx, i)).collect();
        let buildings: Vec<Problem> =
            (0..ctx.buildings.len()).into_par_iter().filter_map(|b| building_problems(ctx, b)).collect();
        for (objects, at, why) in parcels.into_iter().chain(buildings) {
            let zh = why.iter().map(|w| w.0.as_str()).collect::<Vec<_>>().join("；");
            let en = why.iter().map(|w| w.1.as_str()).collect::<Vec<_>>().join("; ");
            let first = objects.first().cloned().unwrap_or_default();
            emit(ctx.finding(
                CODE_CONSISTENCY,
                objects,
                at,
                format!("{first} 代码不一致：{zh}"),
                format!("{first}: inconsistent codes: {en}"),
            ));
        }
    }
}
