//! Parcel code 宗地代码 (ZDDM), 19 characters.

use super::region::prefix;
use super::{digits_value, in_range, string_code, write_digits, CodeError, CodeForm, Segment};
use super::{CountyCode, DistrictCode, ParcelFeature, SubdistrictCode};

/// Parcel code 宗地代码 (ZDDM): sub-district (12) + feature code (2) +
/// sequence number (5), e.g. `340824104207JA00024`.
///
/// ```
/// use unit_code::{ParcelCode, ParcelFeature, SubdistrictCode};
/// let sub: SubdistrictCode = "340824104207".parse().unwrap();
/// let feature: ParcelFeature = "JA".parse().unwrap();
/// let p = ParcelCode::new(sub, feature, 24).unwrap();
/// assert_eq!(p.as_str(), "340824104207JA00024");
/// assert_eq!(p.sequence(), 24);
/// assert!(ParcelCode::new(sub, feature, 0).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParcelCode(pub(crate) [u8; 19]);
string_code!(ParcelCode, 19, CodeForm::Parcel);

impl ParcelCode {
    /// Largest parcel sequence number.
    pub const MAX_SEQUENCE: u32 = 99_999;

    /// Parcel `sequence` (1..=99999) of `feature` in `subdistrict`.
    pub fn new(subdistrict: SubdistrictCode, feature: ParcelFeature, sequence: u32) -> Result<Self, CodeError> {
        let seq = in_range(Segment::Sequence, sequence, 1, Self::MAX_SEQUENCE)?;
        let mut b = [0u8; 19];
        b[..12].copy_from_slice(&subdistrict.0);
        b[12..14].copy_from_slice(&feature.as_bytes());
        write_digits(&mut b[14..], seq);
        Ok(Self(b))
    }

    /// The county (positions 1-6).
    pub fn county(&self) -> CountyCode {
        CountyCode(prefix(&self.0))
    }

    /// The cadastral district (positions 1-9).
    pub fn district(&self) -> DistrictCode {
        DistrictCode(prefix(&self.0))
    }

    /// The cadastral sub-district (positions 1-12).
    pub fn subdistrict(&self) -> SubdistrictCode {
        SubdistrictCode(prefix(&self.0))
    }

    /// The parcel feature code (positions 13-14).
    pub fn feature(&self) -> ParcelFeature {
        // Checked at construction; the fallback is never taken.
        ParcelFeature::from_bytes([self.0[12], self.0[13]])
            .unwrap_or(ParcelFeature::new(super::Ownership::Undetermined, super::ParcelType::UseUndetermined))
    }

    /// The sequence number (positions 15-19); 0 only in legacy data.
    pub fn sequence(&self) -> u32 {
        digits_value(&self.0[14..19])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{Ownership, ParcelType};

    #[test]
    fn real_parcel_code_parses() {
        let p: ParcelCode = "340824104207JA00024".parse().unwrap();
        assert_eq!(p.county().as_str(), "340824");
        assert_eq!(p.district().as_str(), "340824104");
        assert_eq!(p.subdistrict().as_str(), "340824104207");
        assert_eq!(p.feature().ownership, Ownership::Collective);
        assert_eq!(p.feature().parcel_type, ParcelType::CollectiveOwnership);
        assert_eq!(p.sequence(), 24);
        assert_eq!(p.to_string(), "340824104207JA00024");
    }

    #[test]
    fn sequence_bounds() {
        let sub: SubdistrictCode = "340824104207".parse().unwrap();
        let f: ParcelFeature = "GB".parse().unwrap();
        assert_eq!(ParcelCode::new(sub, f, 99_999).unwrap().sequence(), 99_999);
        assert!(matches!(ParcelCode::new(sub, f, 100_000), Err(CodeError::OutOfRange { found: 100_000, .. })));
    }

    #[test]
    fn bad_parcel_strings() {
        assert!(matches!(
            "340824104207JA0002".parse::<ParcelCode>(),
            Err(CodeError::Length { expected: 19, found: 18, .. })
        ));
        assert!(matches!(
            "340824104207Ja00024".parse::<ParcelCode>(),
            Err(CodeError::Char { position: 14, found: 'a', .. })
        ));
    }
}
