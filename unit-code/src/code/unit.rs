//! Real-estate unit code 不动产单元代码 (BDCDYH), 28 characters.

use super::region::prefix;
use super::{digits_value, in_range, string_code, write_digits, CodeError, CodeForm, Segment};
use super::{BuildingCode, CountyCode, FixtureKind, HouseholdNo, ParcelCode, ParcelFeature, SubdistrictCode};

/// Real-estate unit code 不动产单元代码 (BDCDYH, GB/T 37346-2019): parcel
/// code (19) + fixture kind (1) + fixture unit number (8).
///
/// For a building unit (`F`) the number is the 4-digit building number
/// (自然幢号) then the 4-digit household number; household `0000` means the
/// whole building is one unit. A land-only unit (`W`) ends in `00000000`.
///
/// ```
/// use unit_code::{FixtureKind, UnitCode};
/// let u: UnitCode = "411702600021GB00001F00070027".parse().unwrap();
/// assert_eq!(u.parcel().as_str(), "411702600021GB00001");
/// assert_eq!(u.fixture_kind(), FixtureKind::Building);
/// assert_eq!(u.building().unwrap().as_str(), "411702600021GB00001F0007");
/// assert_eq!(u.household_no(), Some(27));
/// assert_eq!(u.land_unit().as_str(), "411702600021GB00001W00000000");
///
/// // Parse errors say where and what.
/// let err = "411702600021XB00001F00070027".parse::<UnitCode>().unwrap_err();
/// assert!(err.to_string().contains("position 13: expected ownership code G/J/Z, found 'X'"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitCode(pub(crate) [u8; 28]);
string_code!(UnitCode, 28, CodeForm::Unit);

impl UnitCode {
    /// Largest household number.
    pub const MAX_HOUSEHOLD: u16 = 9_999;

    /// Household `household_no` (1..=9999) of `building`.
    pub fn household(building: BuildingCode, household_no: u16) -> Result<Self, CodeError> {
        let n = in_range(Segment::HouseholdNumber, u32::from(household_no), 1, u32::from(Self::MAX_HOUSEHOLD))?;
        let mut b = [0u8; 28];
        b[..24].copy_from_slice(&building.0);
        write_digits(&mut b[24..], n);
        Ok(Self(b))
    }

    /// The whole building as one unit (household `0000`).
    pub fn whole_building(building: BuildingCode) -> Self {
        let mut b = [b'0'; 28];
        b[..24].copy_from_slice(&building.0);
        Self(b)
    }

    /// The land-only unit of a parcel (`W00000000`).
    ///
    /// ```
    /// use unit_code::{ParcelCode, UnitCode};
    /// let p: ParcelCode = "340824104207JA00024".parse().unwrap();
    /// assert_eq!(UnitCode::land_only(p).as_str(), "340824104207JA00024W00000000");
    /// ```
    pub fn land_only(parcel: ParcelCode) -> Self {
        let mut b = [b'0'; 28];
        b[..19].copy_from_slice(&parcel.0);
        b[19] = b'W';
        Self(b)
    }

    /// A unit of any fixture kind with a raw 8-digit fixture unit number
    /// (0..=99_999_999), e.g. forest units (`L`).
    pub fn with_fixture(parcel: ParcelCode, kind: FixtureKind, number: u32) -> Result<Self, CodeError> {
        let n = in_range(Segment::FixtureNumber, number, 0, 99_999_999)?;
        let mut b = [0u8; 28];
        b[..19].copy_from_slice(&parcel.0);
        b[19] = kind.as_byte();
        write_digits(&mut b[20..], n);
        Ok(Self(b))
    }

    /// The parcel code 宗地代码 (first 19 characters). A house's parcel must
    /// carry exactly this code (linkage rule).
    pub fn parcel(&self) -> ParcelCode {
        ParcelCode(prefix(&self.0))
    }

    /// The county (positions 1-6), the tenant key.
    pub fn county(&self) -> CountyCode {
        CountyCode(prefix(&self.0))
    }

    /// The sub-district (first 12 characters).
    pub fn subdistrict(&self) -> SubdistrictCode {
        SubdistrictCode(prefix(&self.0))
    }

    /// The parcel feature code (positions 13-14).
    pub fn feature(&self) -> ParcelFeature {
        self.parcel().feature()
    }

    /// The fixture kind (position 20).
    pub fn fixture_kind(&self) -> FixtureKind {
        // Checked at construction; the fallback is never taken.
        FixtureKind::from_byte(self.0[19]).unwrap_or(FixtureKind::None)
    }

    /// The raw 8-digit fixture unit number (positions 21-28).
    pub fn fixture_number(&self) -> u32 {
        digits_value(&self.0[20..28])
    }

    /// For a building unit (`F`), its natural building (first 24 characters).
    /// Legacy codes with building number `0000` give a building numbered 0.
    pub fn building(&self) -> Option<BuildingCode> {
        (self.fixture_kind() == FixtureKind::Building).then(|| BuildingCode(prefix(&self.0)))
    }

    /// For a building unit (`F`), the household number (positions 25-28);
    /// `Some(0)` means the whole building is one unit.
    pub fn household_no(&self) -> Option<u16> {
        // Four digits: at most 9999.
        (self.fixture_kind() == FixtureKind::Building).then(|| digits_value(&self.0[24..28]) as u16)
    }

    /// For a building unit (`F`), its household number HH as typed digits
    /// (positions 25-28), to compare with a building table's HH column.
    ///
    /// ```
    /// use unit_code::{HouseholdNo, UnitCode};
    /// let u: UnitCode = "411702600021GB00001F00070027".parse().unwrap();
    /// assert_eq!(u.hh(), Some("0027".parse::<HouseholdNo>().unwrap()));
    /// assert_eq!(u.land_unit().hh(), None);
    /// ```
    pub fn hh(&self) -> Option<HouseholdNo> {
        (self.fixture_kind() == FixtureKind::Building).then(|| HouseholdNo(prefix(&self.0[24..])))
    }

    /// The parcel's land-only unit: first 19 characters + `W00000000`.
    /// Registration systems use it to find land rights under any house.
    ///
    /// ```
    /// use unit_code::UnitCode;
    /// let flat: UnitCode = "370105012002GB00001F00010751".parse().unwrap();
    /// let land = flat.land_unit();
    /// assert_eq!(land.as_str(), "370105012002GB00001W00000000");
    /// assert_eq!(land.parcel(), flat.parcel());
    /// assert_eq!(land.land_unit(), land);
    /// ```
    pub fn land_unit(&self) -> UnitCode {
        UnitCode::land_only(self.parcel())
    }

    /// Whether this is a land-only unit (`W`).
    pub fn is_land_only(&self) -> bool {
        self.0[19] == b'W'
    }

    /// District and sub-district `000000` (positions 7-12): a virtual or
    /// transitional unit (虚拟单元 / 过渡期编码).
    pub fn is_virtual(&self) -> bool {
        &self.0[6..12] == b"000000"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{Ownership, ParcelType};

    const REAL: [&str; 3] =
        ["411702600021GB00001F00070027", "370105012002GB00001F00010751", "441903012003GB00001F00020063"];

    #[test]
    fn real_codes_parse_and_decompose() {
        let u: UnitCode = REAL[1].parse().unwrap();
        assert_eq!(u.subdistrict().as_str(), "370105012002");
        assert_eq!(u.county().as_str(), "370105");
        assert_eq!(u.feature(), ParcelFeature::new(Ownership::State, ParcelType::ConstructionSurface));
        assert_eq!(u.building().unwrap().number(), 1);
        assert_eq!(u.household_no(), Some(751));
        assert_eq!(u.fixture_number(), 10751);
        for s in REAL {
            let u: UnitCode = s.parse().unwrap();
            assert_eq!(u.to_string(), s);
            assert_eq!(UnitCode::household(u.building().unwrap(), u.household_no().unwrap()).unwrap(), u);
            assert!(!u.is_virtual() && !u.is_land_only());
        }
    }

    #[test]
    fn land_unit_and_whole_building() {
        let u: UnitCode = "441903012003GB00001F00020063".parse().unwrap();
        let land = u.land_unit();
        assert_eq!(land.as_str(), "441903012003GB00001W00000000");
        assert!(land.is_land_only());
        assert_eq!(land.building(), None);
        assert_eq!(land.household_no(), None);
        assert_eq!(land.land_unit(), land);
        let whole = UnitCode::whole_building(u.building().unwrap());
        assert_eq!(whole.as_str(), "441903012003GB00001F00020000");
        assert_eq!(whole.household_no(), Some(0));
    }

    #[test]
    fn constructors_check_ranges() {
        let b: BuildingCode = "441903012003GB00001F0002".parse().unwrap();
        assert!(UnitCode::household(b, 0).is_err());
        assert!(UnitCode::household(b, 10_000).is_err());
        let p = b.parcel();
        let l = UnitCode::with_fixture(p, FixtureKind::Trees, 12).unwrap();
        assert_eq!(l.as_str(), "441903012003GB00001L00000012");
        assert!(UnitCode::with_fixture(p, FixtureKind::Trees, 100_000_000).is_err());
    }

    #[test]
    fn virtual_units() {
        let u: UnitCode = "411702000000GB00001W00000000".parse().unwrap();
        assert!(u.is_virtual());
    }

    #[test]
    fn ordering_follows_the_string() {
        let mut v: Vec<UnitCode> = REAL.iter().map(|s| s.parse().unwrap()).collect();
        v.sort();
        let mut s = REAL.to_vec();
        s.sort_unstable();
        assert_eq!(v.iter().map(UnitCode::as_str).collect::<Vec<_>>(), s);
    }

    #[test]
    fn h_fixture_rejected_by_parser() {
        assert!(matches!(
            "460200000000GH00001H00000000".parse::<UnitCode>(),
            Err(CodeError::Char { position: 20, found: 'H', .. })
        ));
    }
}
