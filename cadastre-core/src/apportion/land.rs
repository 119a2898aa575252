//! Land-share apportionment (共用宗地分摊): a parcel's land area among the
//! households on it → 共有/分摊/独用土地面积 (GYTDMJ / FTTDMJ / DYTDMJ).
//!
//! Definitions used here (the standards' text was not available; these follow
//! the production practice quoted in DOMAIN.md §5):
//! - DYTDMJ 独用土地面积: land used by the household alone (only with
//!   [`LandMethod::ExclusivePlusCommon`], else 0);
//! - GYTDMJ 共有土地面积: the land held in common, parcel area − Σ exclusive,
//!   the same figure for every household on the parcel;
//! - FTTDMJ 分摊土地面积: the household's share of the common land. The
//!   FTTDMJ of all households add up exactly to GYTDMJ.

use super::residual::{distribute, Adjustment, Exact};
use super::Area;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest accepted area in hundredths (10⁹ m²).
const MAX_AREA: i64 = 100_000_000_000;

/// How the common land is shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandMethod {
    /// By building area: 户建筑面积 / Σ建筑面积 × common land.
    ByBuildingArea,
    /// First among buildings by footprint (占地面积), then within each building by building area.
    ByFootprint,
    /// Exclusive land first (独用), then the rest by building area.
    ExclusivePlusCommon,
    /// Shares agreed between owners (`agreed` on every household).
    ByAgreement,
}

/// One household on the parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LandHousehold {
    /// Household id (户号 or unit code).
    pub id: String,
    /// Natural building it is in (ZRZH), used by [`LandMethod::ByFootprint`].
    #[serde(default)]
    pub building: String,
    /// 建筑面积 (JZMJ).
    pub building_area: Area,
    /// Exclusive land (独用), for [`LandMethod::ExclusivePlusCommon`].
    #[serde(default)]
    pub exclusive: Area,
    /// Agreed share of the common land, for [`LandMethod::ByAgreement`].
    #[serde(default)]
    pub agreed: Option<Area>,
}

/// One household's land shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LandShare {
    /// Household id.
    pub id: String,
    /// 共有土地面积 GYTDMJ.
    #[serde(rename = "GYTDMJ")]
    pub common: Area,
    /// 分摊土地面积 FTTDMJ.
    #[serde(rename = "FTTDMJ")]
    pub apportioned: Area,
    /// 独用土地面积 DYTDMJ.
    #[serde(rename = "DYTDMJ")]
    pub exclusive: Area,
}

/// The result for a parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LandShares {
    /// Parcel area 宗地面积.
    pub parcel_area: Area,
    /// Method used.
    pub method: LandMethod,
    /// Households sorted by id.
    pub households: Vec<LandShare>,
    /// Households that got ±0.01 from the rounding residual.
    pub adjustments: Vec<(String, Area)>,
}

/// Why a land apportionment was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LandError {
    /// No households.
    #[error("no households to share the parcel's land")]
    NoHouseholds,
    /// Two households share an id.
    #[error("duplicate household id {0:?}")]
    DuplicateHousehold(String),
    /// Parcel area must be positive (and at most 10⁹ m²).
    #[error("parcel area {0} m² must be positive and at most 1000000000 m²")]
    NonPositiveParcel(Area),
    /// A household's building area must be positive (exclusive/agreed ≥ 0).
    #[error("household {id:?}: {what} {area} m² is not allowed")]
    BadArea {
        /// Household id.
        id: String,
        /// Which field.
        what: &'static str,
        /// Its value.
        area: Area,
    },
    /// Σ exclusive land exceeds the parcel.
    #[error("exclusive land {exclusive} m² exceeds the parcel area {parcel} m²")]
    ExclusiveExceedsParcel {
        /// Σ exclusive.
        exclusive: Area,
        /// Parcel area.
        parcel: Area,
    },
    /// A building has no footprint.
    #[error("no footprint for building {0:?}")]
    MissingFootprint(String),
    /// ByAgreement but a household has no agreed share.
    #[error("household {0:?} has no agreed land share")]
    MissingAgreedShare(String),
    /// Agreed shares do not add up to the common land.
    #[error("agreed land shares add up to {sum} m², not the common land {common} m²")]
    AgreedSharesMismatch {
        /// Σ agreed.
        sum: Area,
        /// Common land.
        common: Area,
    },
    /// Areas too large for exact arithmetic.
    #[error("areas too large for exact arithmetic")]
    Overflow,
}

/// Shares a parcel's land among its households.
///
/// Example from the anchors digest: a 5 000.00 m² parcel, 20 000.00 m² of
/// building area; the 102.93 m² flat gets 25.73 m².
/// ```
/// use cadastre_core::apportion::{land::apportion_land, Area, LandHousehold, LandMethod};
/// let h = |id: &str, a: &str| LandHousehold { id: id.into(), building: "F0001".into(),
///     building_area: a.parse().unwrap(), exclusive: Area::ZERO, agreed: None };
/// let hs = [h("0101", "102.93"), h("0102", "19897.07")];
/// let r = apportion_land("5000".parse().unwrap(), &hs, LandMethod::ByBuildingArea, &Default::default()).unwrap();
/// assert_eq!(r.households[0].apportioned.to_string(), "25.73");
/// ```
pub fn apportion_land(
    parcel_area: Area,
    households: &[LandHousehold],
    method: LandMethod,
    footprints: &BTreeMap<String, Area>,
) -> Result<LandShares, LandError> {
    if parcel_area.hundredths() <= 0 || parcel_area.hundredths() > MAX_AREA {
        return Err(LandError::NonPositiveParcel(parcel_area));
    }
    let mut hs: Vec<&LandHousehold> = households.iter().collect();
    hs.sort_by(|a, b| a.id.cmp(&b.id));
    if hs.is_empty() {
        return Err(LandError::NoHouseholds);
    }
    if let Some(w) = hs.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(LandError::DuplicateHousehold(w[0].id.clone()));
    }
    for h in &hs {
        let bad = |what, area| Err(LandError::BadArea { id: h.id.clone(), what, area });
        // upper limit 10⁹ m² keeps every sum within i64
        let out_of_range = |a: Area, min: i64| a.hundredths() < min || a.hundredths() > MAX_AREA;
        if out_of_range(h.building_area, 1) {
            return bad("building area", h.building_area);
        }
        if out_of_range(h.exclusive, 0) {
            return bad("exclusive land", h.exclusive);
        }
        if let Some(a) = h.agreed.filter(|a| out_of_range(*a, 0)) {
            return bad("agreed land share", a);
        }
    }
    let exclusive_of =
        |h: &LandHousehold| if method == LandMethod::ExclusivePlusCommon { h.exclusive } else { Area::ZERO };
    let exclusive: Area = hs.iter().map(|h| exclusive_of(h)).sum();
    if exclusive > parcel_area {
        return Err(LandError::ExclusiveExceedsParcel { exclusive, parcel: parcel_area });
    }
    let common = parcel_area - exclusive;
    let c = i128::from(common.hundredths());
    let total_ba: i128 = hs.iter().map(|h| i128::from(h.building_area.hundredths())).sum();
    let exact: Vec<Exact> = match method {
        LandMethod::ByBuildingArea | LandMethod::ExclusivePlusCommon => hs
            .iter()
            .map(|h| c.checked_mul(i128::from(h.building_area.hundredths())).map(|n| Exact { num: n, den: total_ba }))
            .collect::<Option<_>>()
            .ok_or(LandError::Overflow)?,
        LandMethod::ByFootprint => {
            let mut by_building: BTreeMap<&str, i128> = BTreeMap::new();
            for h in &hs {
                *by_building.entry(h.building.as_str()).or_default() += i128::from(h.building_area.hundredths());
            }
            let mut fp_total = 0i128;
            for b in by_building.keys() {
                let fp = footprints
                    .get(*b)
                    .filter(|a| a.hundredths() > 0)
                    .ok_or_else(|| LandError::MissingFootprint((*b).to_string()))?;
                fp_total += i128::from(fp.hundredths());
            }
            let mut out = Vec::with_capacity(hs.len());
            for h in &hs {
                let fp = footprints.get(h.building.as_str()).map_or(0, |a| i128::from(a.hundredths()));
                let ba_b = by_building.get(h.building.as_str()).copied().unwrap_or(1);
                let num = c.checked_mul(fp).and_then(|n| n.checked_mul(i128::from(h.building_area.hundredths())));
                let den = fp_total.checked_mul(ba_b);
                match (num, den) {
                    (Some(num), Some(den)) => out.push(Exact { num, den }),
                    _ => return Err(LandError::Overflow),
                }
            }
            out
        }
        LandMethod::ByAgreement => {
            let mut out = Vec::with_capacity(hs.len());
            for h in &hs {
                let a = h.agreed.ok_or_else(|| LandError::MissingAgreedShare(h.id.clone()))?;
                out.push(Exact::whole(a.hundredths()));
            }
            let sum: i128 = out.iter().map(|e| e.num).sum();
            if sum != i128::from(common.hundredths()) {
                let sum = Area::from_hundredths(i64::try_from(sum).unwrap_or(i64::MAX));
                return Err(LandError::AgreedSharesMismatch { sum, common });
            }
            out
        }
    };
    let rounded = distribute(common.hundredths(), &exact, |i| hs[i].id.as_str());
    let households = hs
        .iter()
        .zip(&rounded.values)
        .map(|(h, &v)| LandShare {
            id: h.id.clone(),
            common,
            apportioned: Area::from_hundredths(v),
            exclusive: exclusive_of(h),
        })
        .collect();
    let adjustments = rounded
        .adjustments
        .iter()
        .map(|&Adjustment { index, delta }| (hs[index].id.clone(), Area::from_hundredths(delta)))
        .collect();
    Ok(LandShares { parcel_area, method, households, adjustments })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(id: &str, building: &str, ba: i64) -> LandHousehold {
        LandHousehold {
            id: id.into(),
            building: building.into(),
            building_area: Area::from_hundredths(ba),
            exclusive: Area::ZERO,
            agreed: None,
        }
    }

    #[test]
    fn exclusive_then_common_by_building_area() {
        // parcel 1000.00; A has 100.00 exclusive yard; common 900.00 split 1:2
        let mut a = h("A", "F1", 10_000);
        a.exclusive = Area::from_hundredths(10_000);
        let hs = [a, h("B", "F1", 20_000)];
        let r = apportion_land(Area::from_hundredths(100_000), &hs, LandMethod::ExclusivePlusCommon, &BTreeMap::new());
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.households[0].exclusive.hundredths(), 10_000);
        assert_eq!(r.households[0].apportioned.hundredths(), 30_000);
        assert_eq!(r.households[1].apportioned.hundredths(), 60_000);
        assert_eq!(r.households[1].common.hundredths(), 90_000);
    }

    #[test]
    fn by_footprint_splits_buildings_first() {
        // parcel 900.00; F1 footprint 200, F2 100 → 600/300; F1's 600 split 1:1
        let fps = BTreeMap::from([
            ("F1".to_string(), Area::from_hundredths(20_000)),
            ("F2".to_string(), Area::from_hundredths(10_000)),
        ]);
        let hs = [h("1", "F1", 5_000), h("2", "F1", 5_000), h("3", "F2", 99_900)];
        let r = apportion_land(Area::from_hundredths(90_000), &hs, LandMethod::ByFootprint, &fps)
            .unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<i64> = r.households.iter().map(|s| s.apportioned.hundredths()).collect();
        assert_eq!(got, vec![30_000, 30_000, 30_000]);
        let missing = apportion_land(Area::from_hundredths(90_000), &[h("9", "F9", 1)], LandMethod::ByFootprint, &fps);
        assert_eq!(missing, Err(LandError::MissingFootprint("F9".into())));
    }

    #[test]
    fn agreement_must_add_up_and_errors_name_ids() {
        let mut a = h("A", "F1", 100);
        a.agreed = Some(Area::from_hundredths(700));
        let mut b = h("B", "F1", 100);
        b.agreed = Some(Area::from_hundredths(200));
        let r = apportion_land(
            Area::from_hundredths(1000),
            &[a.clone(), b.clone()],
            LandMethod::ByAgreement,
            &BTreeMap::new(),
        );
        assert_eq!(
            r,
            Err(LandError::AgreedSharesMismatch {
                sum: Area::from_hundredths(900),
                common: Area::from_hundredths(1000)
            })
        );
        b.agreed = Some(Area::from_hundredths(300));
        let r = apportion_land(Area::from_hundredths(1000), &[a.clone(), b], LandMethod::ByAgreement, &BTreeMap::new());
        assert_eq!(r.map(|r| r.households[1].apportioned.hundredths()), Ok(300));
        let dup =
            apportion_land(Area::from_hundredths(1000), &[a.clone(), a], LandMethod::ByBuildingArea, &BTreeMap::new());
        assert_eq!(dup, Err(LandError::DuplicateHousehold("A".into())));
    }

    #[test]
    fn thirds_add_up_exactly_with_residual_reported() {
        let hs = [h("1", "F", 100), h("2", "F", 100), h("3", "F", 100)];
        let r = apportion_land(Area::from_hundredths(10_000), &hs, LandMethod::ByBuildingArea, &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let sum: i64 = r.households.iter().map(|s| s.apportioned.hundredths()).sum();
        assert_eq!(sum, 10_000);
        assert_eq!(r.adjustments, vec![("1".to_string(), Area::from_hundredths(1))]);
    }
}
