//! Typed codes of the GB/T 37346 hierarchy: county (6) → district (9) →
//! sub-district (12) → parcel (19, ZDDM) → building (24, ZRZH) → unit (28,
//! BDCDYH). Every type stores its ASCII bytes, is `Copy`, orders like its
//! string, and round-trips through `FromStr`/`Display`/serde.

mod building;
mod feature;
mod layout;
mod parcel;
mod region;
mod unit;

pub use building::BuildingCode;
pub use feature::{FixtureKind, NonStandardLetter, Ownership, ParcelFeature, ParcelType};
pub use layout::CodeForm;
pub use parcel::ParcelCode;
pub use region::{CountyCode, DistrictCode, SubdistrictCode};
pub use unit::UnitCode;

pub(crate) use layout::{char_matches, form_matches};

/// Why a string is not a code of the expected form, or why parts cannot be
/// put together into one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Wrong number of characters (counted as characters, not bytes).
    #[error("{form}: expected {expected} characters, found {found}")]
    Length {
        /// The form that was parsed.
        form: CodeForm,
        /// Its length.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character that the position does not allow.
    #[error("{form}: position {position}: expected {expected}, found {}", show_char(*found))]
    Char {
        /// The form that was parsed.
        form: CodeForm,
        /// 1-based character position.
        position: usize,
        /// What the position allows.
        expected: &'static str,
        /// The character found there.
        found: char,
    },
    /// A letter code (ownership, parcel type, fixture kind) that is not valid.
    #[error("{field}: expected {expected}, found {found:?}")]
    Letter {
        /// The field being parsed.
        field: &'static str,
        /// What it allows.
        expected: &'static str,
        /// The text found.
        found: String,
    },
    /// A numeric part outside its range when building a code from parts.
    #[error("{field} must be in {min}..={max}, found {found}")]
    OutOfRange {
        /// The part.
        field: &'static str,
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
        /// The value given.
        found: u32,
    },
}

/// Quote a character for an error message, with a hint for full-width forms
/// (common when codes are typed with a Chinese input method).
fn show_char(c: char) -> String {
    if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
        format!("{c:?} (full-width character; use the half-width ASCII form)")
    } else if c == '\u{3000}' {
        format!("{c:?} (full-width space)")
    } else {
        format!("{c:?}")
    }
}

/// Check `s` against the hard format of `form`; the first problem wins.
pub(crate) fn check(s: &str, form: CodeForm) -> Result<(), CodeError> {
    if form_matches(s.as_bytes(), form) {
        return Ok(());
    }
    let masks = form.masks();
    // Slow path only for bad input: count characters, then find the culprit.
    let found = s.chars().count();
    if found != masks.len() {
        return Err(CodeError::Length { form, expected: masks.len(), found });
    }
    for (i, (c, &mask)) in s.chars().zip(masks).enumerate() {
        if !char_matches(c, mask) {
            return Err(CodeError::Char { form, position: i + 1, expected: form.expected(i + 1).0, found: c });
        }
    }
    Ok(())
}

/// Value of ASCII digits (callers pass checked digits).
#[inline]
pub(crate) fn digits_value(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |acc, &b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
}

/// Write `value` as zero-padded ASCII digits filling `out`.
#[inline]
pub(crate) fn write_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        // `value % 10` is < 10, so the cast cannot truncate.
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Range check for a part used to build a code.
pub(crate) fn in_range(field: &'static str, value: u32, min: u32, max: u32) -> Result<u32, CodeError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(CodeError::OutOfRange { field, min, max, found: value })
    }
}

/// Shared trait impls for a code stored as `[u8; N]` of checked ASCII.
macro_rules! string_code {
    ($ty:ident, $n:expr, $form:expr) => {
        impl $ty {
            /// The code as a string slice.
            pub fn as_str(&self) -> &str {
                // Always ASCII: only checked bytes are stored.
                std::str::from_utf8(&self.0).unwrap_or_default()
            }

            /// The code's ASCII bytes.
            pub const fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }

            /// The code form of this type.
            pub const FORM: $crate::code::CodeForm = $form;
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::code::CodeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::code::check(s, $form)?;
                let mut bytes = [0u8; $n];
                bytes.copy_from_slice(s.as_bytes());
                Ok(Self(bytes))
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = $crate::code::CodeError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.as_str())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        $crate::code::serde_via_str!($ty);
    };
}
pub(crate) use string_code;

/// serde as the string form, through `Display` and `FromStr`.
macro_rules! serde_via_str {
    ($ty:ident) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "a {} string", stringify!($ty))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
pub(crate) use serde_via_str;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_not_bytes() {
        // 27 full-width digits are 81 bytes; the message must say 27.
        let s = "３".repeat(27);
        let e = check(&s, CodeForm::Unit).unwrap_err();
        assert_eq!(e, CodeError::Length { form: CodeForm::Unit, expected: 28, found: 27 });
    }

    #[test]
    fn full_width_digit_gets_a_hint() {
        let s = format!("３{}", &"411702600021GB00001F00070027"[1..]);
        let e = check(&s, CodeForm::Unit).unwrap_err();
        assert!(matches!(e, CodeError::Char { position: 1, found: '３', .. }));
        assert!(e.to_string().contains("full-width"), "{e}");
    }

    #[test]
    fn char_error_names_position_expected_and_found() {
        let e = check("411702600021XB00001F00070027", CodeForm::Unit).unwrap_err();
        assert_eq!(
            e.to_string(),
            "不动产单元代码 unit code (BDCDYH): position 13: expected ownership code G/J/Z, found 'X'"
        );
    }

    #[test]
    fn digits_round_trip() {
        let mut buf = [0u8; 5];
        write_digits(&mut buf, 42);
        assert_eq!(&buf, b"00042");
        assert_eq!(digits_value(&buf), 42);
    }

    #[test]
    fn range_check() {
        assert_eq!(in_range("x", 5, 1, 9), Ok(5));
        assert!(matches!(in_range("x", 0, 1, 9), Err(CodeError::OutOfRange { found: 0, .. })));
    }
}
