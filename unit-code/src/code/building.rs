//! Natural building number 自然幢号 (ZRZH), 24 characters.

use super::region::prefix;
use super::{digits_value, in_range, string_code, write_digits, CodeError, CodeForm, CountyCode, ParcelCode, Segment};

/// Natural building number 自然幢号 (ZRZH): parcel code (19) + `F` +
/// 4-digit building number, e.g. `411702600021GB00001F0007`.
///
/// ```
/// use unit_code::{BuildingCode, ParcelCode};
/// let p: ParcelCode = "411702600021GB00001".parse().unwrap();
/// let b = BuildingCode::new(p, 7).unwrap();
/// assert_eq!(b.as_str(), "411702600021GB00001F0007");
/// assert_eq!(b.parcel(), p);
/// assert_eq!(b.number(), 7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildingCode(pub(crate) [u8; 24]);
string_code!(BuildingCode, 24, CodeForm::Building);

impl BuildingCode {
    /// Largest building number.
    pub const MAX_NUMBER: u16 = 9_999;

    /// Building `number` (1..=9999) on `parcel`.
    pub fn new(parcel: ParcelCode, number: u16) -> Result<Self, CodeError> {
        let n = in_range(Segment::BuildingNumber, u32::from(number), 1, u32::from(Self::MAX_NUMBER))?;
        let mut b = [0u8; 24];
        b[..19].copy_from_slice(&parcel.0);
        b[19] = b'F';
        write_digits(&mut b[20..], n);
        Ok(Self(b))
    }

    /// The county (positions 1-6).
    pub fn county(&self) -> CountyCode {
        CountyCode(prefix(&self.0))
    }

    /// The parcel the building stands on (first 19 characters).
    pub fn parcel(&self) -> ParcelCode {
        ParcelCode(prefix(&self.0))
    }

    /// The building number (positions 21-24); 0 only in legacy data.
    pub fn number(&self) -> u16 {
        // Four digits: at most 9999.
        digits_value(&self.0[20..24]) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn building_bounds_and_parse() {
        let p: ParcelCode = "411702600021GB00001".parse().unwrap();
        assert!(BuildingCode::new(p, 0).is_err());
        assert!(BuildingCode::new(p, 10_000).is_err());
        assert_eq!(BuildingCode::new(p, 9_999).unwrap().number(), 9_999);
        assert_eq!(BuildingCode::new(p, 7).unwrap().county().as_str(), "411702");
        assert!(matches!(
            "411702600021GB00001W0007".parse::<BuildingCode>(),
            Err(CodeError::Char { position: 20, found: 'W', .. })
        ));
    }
}
