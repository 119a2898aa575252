//! Area codes: county (GB/T 2260), cadastral district 地籍区 and
//! cadastral sub-district 地籍子区.

use super::{digits_value, in_range, string_code, write_digits, CodeError, CodeForm, Segment};

/// County-level administrative code (县级行政区划代码, GB/T 2260), 6 digits.
///
/// ```
/// use unit_code::CountyCode;
/// let c: CountyCode = "330106".parse().unwrap();
/// assert_eq!(c.as_str(), "330106");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountyCode(pub(crate) [u8; 6]);
string_code!(CountyCode, 6, CodeForm::County);

/// Cadastral district code (地籍区代码, DJQDM), 9 digits = county + 3.
///
/// ```
/// use unit_code::{CountyCode, DistrictCode};
/// let county: CountyCode = "330106".parse().unwrap();
/// let d = DistrictCode::new(county, 7).unwrap();
/// assert_eq!(d.as_str(), "330106007");
/// assert_eq!(d.county(), county);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DistrictCode(pub(crate) [u8; 9]);
string_code!(DistrictCode, 9, CodeForm::District);

/// Cadastral sub-district code (地籍子区代码, DJZQDM), 12 digits = district + 3.
///
/// ```
/// use unit_code::SubdistrictCode;
/// let s: SubdistrictCode = "330106007002".parse().unwrap();
/// assert_eq!(s.district().as_str(), "330106007");
/// assert_eq!(s.number(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubdistrictCode(pub(crate) [u8; 12]);
string_code!(SubdistrictCode, 12, CodeForm::Subdistrict);

/// Copy the first `N` bytes of a longer checked code.
pub(crate) fn prefix<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

impl DistrictCode {
    /// District `number` (0..=999) within `county`.
    pub fn new(county: CountyCode, number: u16) -> Result<Self, CodeError> {
        let n = in_range(Segment::District, u32::from(number), 0, 999)?;
        let mut b = [0u8; 9];
        b[..6].copy_from_slice(&county.0);
        write_digits(&mut b[6..], n);
        Ok(Self(b))
    }

    /// The county this district belongs to.
    pub fn county(&self) -> CountyCode {
        CountyCode(prefix(&self.0))
    }

    /// The 3-digit district number (positions 7-9).
    pub fn number(&self) -> u16 {
        // At most 999: fits.
        digits_value(&self.0[6..9]) as u16
    }
}

impl SubdistrictCode {
    /// Sub-district `number` (0..=999) within `district`.
    pub fn new(district: DistrictCode, number: u16) -> Result<Self, CodeError> {
        let n = in_range(Segment::Subdistrict, u32::from(number), 0, 999)?;
        let mut b = [0u8; 12];
        b[..9].copy_from_slice(&district.0);
        write_digits(&mut b[9..], n);
        Ok(Self(b))
    }

    /// The county (positions 1-6).
    pub fn county(&self) -> CountyCode {
        CountyCode(prefix(&self.0))
    }

    /// The district (positions 1-9).
    pub fn district(&self) -> DistrictCode {
        DistrictCode(prefix(&self.0))
    }

    /// The 3-digit sub-district number (positions 10-12).
    pub fn number(&self) -> u16 {
        digits_value(&self.0[9..12]) as u16
    }

    /// District and sub-district both `000`: a virtual or transitional
    /// (过渡期) area, used for units whose real sub-district is not yet known.
    pub fn is_virtual(&self) -> bool {
        &self.0[6..12] == b"000000"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_compose_and_decompose() {
        let county: CountyCode = "411702".parse().unwrap();
        let d = DistrictCode::new(county, 600).unwrap();
        let s = SubdistrictCode::new(d, 21).unwrap();
        assert_eq!(s.as_str(), "411702600021");
        assert_eq!(s.county(), county);
        assert_eq!(s.district(), d);
        assert_eq!(d.number(), 600);
        assert_eq!(s.number(), 21);
        assert!(!s.is_virtual());
    }

    #[test]
    fn out_of_range_numbers_are_errors() {
        let county: CountyCode = "411702".parse().unwrap();
        assert!(matches!(DistrictCode::new(county, 1000), Err(CodeError::OutOfRange { found: 1000, max: 999, .. })));
    }

    #[test]
    fn bad_strings_rejected() {
        assert!("41170".parse::<CountyCode>().is_err());
        assert!("41170a".parse::<CountyCode>().is_err());
        assert!("411702600".parse::<SubdistrictCode>().is_err());
        assert!("411702000000".parse::<SubdistrictCode>().unwrap().is_virtual());
    }

    #[test]
    fn serde_as_string() {
        let s: SubdistrictCode = "330106007002".parse().unwrap();
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, "\"330106007002\"");
        assert_eq!(serde_json::from_str::<SubdistrictCode>(&j).unwrap(), s);
        assert!(serde_json::from_str::<SubdistrictCode>("\"33010600700\"").is_err());
    }
}
