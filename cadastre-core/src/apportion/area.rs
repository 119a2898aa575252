//! Exact areas in hundredths of a square metre.
//!
//! Areas are kept as integer hundredths (0.01 m²) so that sums are exact and
//! "the shares add up to the shared area" can be checked with `==`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An area in m², stored exactly as integer hundredths (0.01 m²).
///
/// ```
/// use cadastre_core::apportion::Area;
/// let a: Area = "89.50".parse().unwrap();
/// assert_eq!(a.hundredths(), 8950);
/// assert_eq!(a.to_string(), "89.50");
/// assert_eq!(Area::from_m2(13.425).is_err(), true); // more than 2 decimals
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Area(i64);

/// An area that is not a finite number with at most 2 decimals.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0} is not an area in m² with at most 2 decimals")]
pub struct AreaParseError(pub String);

impl Area {
    /// Zero m².
    pub const ZERO: Area = Area(0);

    /// From integer hundredths of a square metre.
    pub const fn from_hundredths(h: i64) -> Self {
        Area(h)
    }

    /// The area in integer hundredths of a square metre.
    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// The area in m² as a float (for display and coefficients only).
    pub fn m2(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// From m² given as a float; rejects values with more than 2 decimals
    /// (beyond float noise) instead of silently rounding them.
    pub fn from_m2(v: f64) -> Result<Self, AreaParseError> {
        // 9e13 hundredths is far beyond any building and still exact in f64.
        if !v.is_finite() || v.abs() > 9.0e13 {
            return Err(AreaParseError(v.to_string()));
        }
        let scaled = v * 100.0;
        let rounded = scaled.round();
        if (scaled - rounded).abs() > 1e-6 * rounded.abs().max(1.0) {
            return Err(AreaParseError(v.to_string()));
        }
        Ok(Area(rounded as i64))
    }
}

impl std::str::FromStr for Area {
    type Err = AreaParseError;

    /// Parses "12", "12.5", "12.50", "-3.07"; no more than 2 decimals.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AreaParseError(s.to_string());
        let t = s.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || int.len() > 15
        {
            return Err(err());
        }
        let whole: i64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| err())? };
        let mut cents: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| err())? };
        if frac.len() == 1 {
            cents *= 10;
        }
        let h = whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or_else(err)?;
        Ok(Area(if neg { -h } else { h }))
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Add for Area {
    type Output = Area;
    fn add(self, o: Area) -> Area {
        Area(self.0 + o.0)
    }
}

impl AddAssign for Area {
    fn add_assign(&mut self, o: Area) {
        self.0 += o.0;
    }
}

impl Sub for Area {
    type Output = Area;
    fn sub(self, o: Area) -> Area {
        Area(self.0 - o.0)
    }
}

impl std::iter::Sum for Area {
    fn sum<I: Iterator<Item = Area>>(iter: I) -> Area {
        Area(iter.map(|a| a.0).sum())
    }
}

impl Serialize for Area {
    /// As a JSON number with at most 2 decimals (e.g. `102.93`).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.m2())
    }
}

impl<'de> Deserialize<'de> for Area {
    /// From a JSON number or a decimal string; more than 2 decimals is an error.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(v) => Area::from_m2(v).map_err(serde::de::Error::custom),
            Raw::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_two_decimals() {
        for (s, h, out) in [
            ("12", 1200, "12.00"),
            ("12.5", 1250, "12.50"),
            ("0.07", 7, "0.07"),
            ("-3.07", -307, "-3.07"),
            (".5", 50, "0.50"),
        ] {
            let a: Area = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(a.hundredths(), h, "{s}");
            assert_eq!(a.to_string(), out);
        }
    }

    #[test]
    fn rejects_garbage_and_extra_decimals() {
        for s in ["", "-", "1.234", "abc", "1,5", "1.2.3", " . "] {
            assert!(s.parse::<Area>().is_err(), "{s:?} should be rejected");
        }
        assert!(Area::from_m2(f64::NAN).is_err());
        assert!(Area::from_m2(0.125).is_err());
        assert_eq!(Area::from_m2(120.50).map(Area::hundredths), Ok(12050));
        // 0.1 + 0.2 style float noise is not "extra decimals"
        assert_eq!(Area::from_m2(0.1 + 0.2).map(Area::hundredths), Ok(30));
    }

    #[test]
    fn json_round_trip_is_exact() {
        let a: Area = serde_json::from_str("102.93").unwrap_or_default();
        assert_eq!(a.hundredths(), 10293);
        assert_eq!(serde_json::to_string(&a).unwrap_or_default(), "102.93");
        assert!(serde_json::from_str::<Area>("1.005").is_err());
    }
}
