//! Household number 户号 (HH), the last four digits of a building unit's code.

use std::fmt;
use std::str::FromStr;

use super::{digits_value, CodeError, Segment};

/// Household number 户号 (HH): the four digits that end a building unit's code
/// (positions 25-28), as building tables (楼盘表) carry it in a column of its own;
/// `0000` is the whole building as one unit.
///
/// ```
/// use unit_code::{BuildingCode, HouseholdNo, Segment, UnitCode};
/// let hh: HouseholdNo = "0027".parse().unwrap();
/// assert_eq!(hh.get(), 27);
/// let b: BuildingCode = "411702600021GB00001F0007".parse().unwrap();
/// let u = UnitCode::household(b, hh.get()).unwrap();
/// assert_eq!(u.hh(), Some(hh));
///
/// // Four digits, no fewer, no spaces: the error names the segment.
/// let e = "27".parse::<HouseholdNo>().unwrap_err();
/// assert_eq!(e.segment(), Some(Segment::HouseholdNumber));
/// assert_eq!(e.message_zh(), "户号应为 4 位数字，实际为 \"27\"");
/// assert_eq!(e.message_en(), "household number: expected 4 digits, found \"27\"");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HouseholdNo(pub(crate) [u8; 4]);

impl HouseholdNo {
    /// The number, 0..=9999.
    pub fn get(&self) -> u16 {
        // Four digits: at most 9999.
        digits_value(&self.0) as u16
    }

    /// The four digits as a string slice.
    pub fn as_str(&self) -> &str {
        // Always ASCII digits: only checked bytes are stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Whether this is `0000`, the whole building as one unit.
    pub fn is_whole_building(&self) -> bool {
        self.0 == *b"0000"
    }
}

impl FromStr for HouseholdNo {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match <[u8; 4]>::try_from(s.as_bytes()) {
            Ok(b) if b.iter().all(u8::is_ascii_digit) => Ok(Self(b)),
            _ => Err(CodeError::Digits { segment: Segment::HouseholdNumber, found: s.to_owned() }),
        }
    }
}

impl TryFrom<&str> for HouseholdNo {
    type Error = CodeError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for HouseholdNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HouseholdNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HouseholdNo({:?})", self.as_str())
    }
}

impl AsRef<str> for HouseholdNo {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

super::serde_via_str!(HouseholdNo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_ascii_digits_only() {
        for good in ["0000", "0001", "0751", "9999"] {
            let hh: HouseholdNo = good.parse().unwrap();
            assert_eq!(hh.to_string(), good);
            assert_eq!(hh.get(), good.parse::<u16>().unwrap());
        }
        assert!("0000".parse::<HouseholdNo>().unwrap().is_whole_building());
        assert!(!"0001".parse::<HouseholdNo>().unwrap().is_whole_building());
        for bad in ["", "1", "001", "00001", "00a1", " 001", "０００１", "+001", "-001"] {
            let e = bad.parse::<HouseholdNo>().unwrap_err();
            assert_eq!(e, CodeError::Digits { segment: Segment::HouseholdNumber, found: bad.into() }, "{bad:?}");
        }
    }

    #[test]
    fn orders_and_serializes_as_its_digits() {
        let a: HouseholdNo = "0009".parse().unwrap();
        let b: HouseholdNo = "0010".parse().unwrap();
        assert!(a < b);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"0009\"");
        assert_eq!(serde_json::from_str::<HouseholdNo>("\"0010\"").unwrap(), b);
        assert!(serde_json::from_str::<HouseholdNo>("\"10\"").is_err());
    }
}
