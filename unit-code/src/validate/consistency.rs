//! Consistency of a code with the unit's own attributes (county, district,
//! sub-district, feature code), and linkage between a house and its parcel.

use super::{Issue, Part};
use crate::code::{BuildingCode, CountyCode, DistrictCode, ParcelCode, ParcelFeature, SubdistrictCode, UnitCode};

/// What a unit's attributes and location say its code should contain.
/// `None` fields are not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected {
    /// County the unit lies in (县级行政区划代码).
    pub county: Option<CountyCode>,
    /// Cadastral district (地籍区, DJQDM) the parcel lies in.
    pub district: Option<DistrictCode>,
    /// Cadastral sub-district (地籍子区, DJZQDM) the parcel lies in.
    pub subdistrict: Option<SubdistrictCode>,
    /// Feature code from the right type and ownership (宗地特征码).
    pub feature: Option<ParcelFeature>,
    /// Code of the parcel the unit stands on (宗地代码, ZDDM).
    pub parcel: Option<ParcelCode>,
    /// Code of the natural building the unit belongs to (自然幢号, ZRZH).
    pub building: Option<BuildingCode>,
}

fn mismatch(part: Part, expected: &str, found: &str) -> Issue {
    Issue::Mismatch { part, expected: expected.to_owned(), found: found.to_owned() }
}

/// Check a unit code against its attributes. Every mismatch is returned;
/// an empty vector means consistent.
///
/// ```
/// use unit_code::validate::{check_consistency, Expected};
/// use unit_code::UnitCode;
/// let u: UnitCode = "411702600021GB00001F00070027".parse().unwrap();
/// let expected = Expected { subdistrict: Some("411702600022".parse().unwrap()), ..Expected::default() };
/// let issues = check_consistency(&u, &expected);
/// assert_eq!(issues[0].id(), "consistency.subdistrict");
/// ```
pub fn check_consistency(unit: &UnitCode, expected: &Expected) -> Vec<Issue> {
    let mut issues = check_parcel_consistency(&unit.parcel(), expected);
    if let Some(want) = expected.building {
        match unit.building() {
            Some(have) if have == want => {}
            Some(have) => issues.push(mismatch(Part::Building, want.as_str(), have.as_str())),
            None => issues.push(mismatch(Part::Building, want.as_str(), &unit.as_str()[..24])),
        }
    }
    issues
}

/// Check a parcel code (or the parcel part of a unit) against attributes.
pub fn check_parcel_consistency(parcel: &ParcelCode, expected: &Expected) -> Vec<Issue> {
    let mut issues = Vec::new();
    if let Some(want) = expected.county {
        if parcel.county() != want {
            issues.push(mismatch(Part::County, want.as_str(), parcel.county().as_str()));
        }
    }
    if let Some(want) = expected.district {
        if parcel.district() != want {
            issues.push(mismatch(Part::District, want.as_str(), parcel.district().as_str()));
        }
    }
    if let Some(want) = expected.subdistrict {
        if parcel.subdistrict() != want {
            issues.push(mismatch(Part::Subdistrict, want.as_str(), parcel.subdistrict().as_str()));
        }
    }
    if let Some(want) = expected.feature {
        if parcel.feature() != want {
            issues.push(mismatch(Part::Feature, &want.to_string(), &parcel.feature().to_string()));
        }
    }
    if let Some(want) = expected.parcel {
        if *parcel != want {
            issues.push(mismatch(Part::Parcel, want.as_str(), parcel.as_str()));
        }
    }
    issues
}

/// Linkage: a house's first 19 characters must equal its parcel's code.
///
/// ```
/// use unit_code::validate::check_linkage;
/// let house = "411702600021GB00001F00070027".parse().unwrap();
/// assert!(check_linkage(&house, &"411702600021GB00001".parse().unwrap()).is_none());
/// assert!(check_linkage(&house, &"411702600021GB00002".parse().unwrap()).is_some());
/// ```
pub fn check_linkage(unit: &UnitCode, parcel: &ParcelCode) -> Option<Issue> {
    (unit.parcel() != *parcel).then(|| mismatch(Part::Parcel, parcel.as_str(), unit.parcel().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> UnitCode {
        "411702600021GB00001F00070027".parse().unwrap()
    }

    #[test]
    fn matching_attributes_give_nothing() {
        let u = unit();
        let e = Expected {
            county: Some("411702".parse().unwrap()),
            district: Some("411702600".parse().unwrap()),
            subdistrict: Some("411702600021".parse().unwrap()),
            feature: Some("GB".parse().unwrap()),
            parcel: Some("411702600021GB00001".parse().unwrap()),
            building: Some("411702600021GB00001F0007".parse().unwrap()),
        };
        assert!(check_consistency(&u, &e).is_empty());
        assert!(check_consistency(&u, &Expected::default()).is_empty());
    }

    #[test]
    fn every_mismatch_is_reported() {
        let u = unit();
        let e = Expected {
            county: Some("411703".parse().unwrap()),
            district: Some("411702601".parse().unwrap()),
            subdistrict: Some("411702600022".parse().unwrap()),
            feature: Some("JC".parse().unwrap()),
            parcel: Some("411702600021GB00002".parse().unwrap()),
            building: Some("411702600021GB00001F0008".parse().unwrap()),
        };
        let issues = check_consistency(&u, &e);
        let ids: Vec<_> = issues.iter().map(Issue::id).collect();
        assert_eq!(
            ids,
            [
                "consistency.county",
                "consistency.district",
                "consistency.subdistrict",
                "consistency.feature",
                "linkage.parcel",
                "linkage.building"
            ]
        );
        assert_eq!(issues[3].position(), Some(13));
        assert_eq!(issues[0].message_en(), "county code in the code is 411702, the attributes say 411703");
        assert!(issues[0].message_zh().contains("411703"));
    }

    #[test]
    fn land_unit_has_no_building() {
        let land = unit().land_unit();
        let e = Expected { building: Some("411702600021GB00001F0007".parse().unwrap()), ..Expected::default() };
        assert_eq!(check_consistency(&land, &e)[0].id(), "linkage.building");
    }

    #[test]
    fn linkage() {
        let u = unit();
        assert_eq!(check_linkage(&u, &u.parcel()), None);
        let other: ParcelCode = "411702600021GB00002".parse().unwrap();
        let issue = check_linkage(&u, &other).unwrap();
        assert_eq!(issue.id(), "linkage.parcel");
    }
}
