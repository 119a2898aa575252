//! Typed codes of the GB/T 37346 hierarchy: county (6) → district (9) →
//! sub-district (12) → parcel (19, ZDDM) → building (24, ZRZH) → unit (28,
//! BDCDYH). Every type stores its ASCII bytes, is `Copy`, orders like its
//! string, and round-trips through `FromStr`/`Display`/serde.

mod building;
mod feature;
mod household;
mod layout;
mod parcel;
mod region;
mod segment;
mod unit;

pub use building::BuildingCode;
pub use feature::{FixtureKind, NonStandardLetter, Ownership, ParcelFeature, ParcelType};
pub use household::HouseholdNo;
pub use layout::CodeForm;
pub use parcel::ParcelCode;
pub use region::{CountyCode, DistrictCode, SubdistrictCode};
pub use segment::Segment;
pub use unit::UnitCode;

pub(crate) use layout::{char_matches, form_matches};

/// Why a string is not a code of the expected form, or why parts cannot be
/// put together into one. Every variant but [`CodeError::Length`] names the
/// [`Segment`] that failed.
///
/// `Display` gives the Chinese message, then the English one after ` / `
/// ([`CodeError::message_zh`], [`CodeError::message_en`] give each alone):
///
/// ```
/// use unit_code::{CodeError, ParcelCode, Segment};
/// let e = "340824104207XA00024".parse::<ParcelCode>().unwrap_err();
/// assert_eq!(e.segment(), Some(Segment::Ownership));
/// assert_eq!(e.message_zh(), "宗地代码第 13 位应为宗地特征码（所有权）G/J/Z，实际为 'X'");
/// assert_eq!(e.to_string(), format!("{} / {}", e.message_zh(), e.message_en()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeError {
    /// Wrong number of characters (counted as characters, not bytes).
    Length {
        /// The form that was parsed.
        form: CodeForm,
        /// Its length.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character that the position does not allow.
    Char {
        /// The form that was parsed.
        form: CodeForm,
        /// The segment holding the position.
        segment: Segment,
        /// 1-based character position.
        position: usize,
        /// The character found there.
        found: char,
    },
    /// A letter code (ownership, parcel type, feature code, fixture kind)
    /// given on its own that is not valid.
    Letter {
        /// The segment the letters belong to.
        segment: Segment,
        /// The text found.
        found: String,
    },
    /// A number segment given on its own (the HH column of a building table)
    /// that is not exactly its digits.
    Digits {
        /// The segment the digits belong to.
        segment: Segment,
        /// The text found.
        found: String,
    },
    /// A numeric part outside its range when building a code from parts.
    OutOfRange {
        /// The segment the number fills.
        segment: Segment,
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
        /// The value given.
        found: u32,
    },
}

impl CodeError {
    /// The segment that failed; `None` for a wrong length, which no single
    /// segment can be blamed for.
    pub fn segment(&self) -> Option<Segment> {
        match self {
            CodeError::Length { .. } => None,
            CodeError::Char { segment, .. }
            | CodeError::Letter { segment, .. }
            | CodeError::Digits { segment, .. }
            | CodeError::OutOfRange { segment, .. } => Some(*segment),
        }
    }

    /// The message in Chinese, e.g. `宗地代码应为 19 位，实际为 18 位`.
    pub fn message_zh(&self) -> String {
        match self {
            CodeError::Length { form, expected, found } => {
                format!("{}应为 {expected} 位，实际为 {found} 位", form.name_zh())
            }
            CodeError::Char { form, segment, position, found } => format!(
                "{}第 {position} 位应为{}，实际为 {}",
                form.name_zh(),
                segment.expected(*form).1,
                quote_char(*found, Lang::Zh)
            ),
            CodeError::Letter { segment, found } => {
                format!("应为{}，实际为 {found:?}", segment.expected(CodeForm::Unit).1)
            }
            CodeError::Digits { segment, found } => {
                format!("{}应为 {} 位数字，实际为 {found:?}", segment.name_zh(), segment.width())
            }
            CodeError::OutOfRange { segment, min, max, found } => {
                format!("{}应在 {min} 至 {max} 之间，实际为 {found}", segment.name_zh())
            }
        }
    }

    /// The message in English, e.g. `parcel code (ZDDM): expected 19 characters, found 18`.
    pub fn message_en(&self) -> String {
        match self {
            CodeError::Length { form, expected, found } => {
                format!("{}: expected {expected} characters, found {found}", form.name_en())
            }
            CodeError::Char { form, segment, position, found } => format!(
                "{}: position {position}: expected {}, found {}",
                form.name_en(),
                segment.expected(*form).0,
                quote_char(*found, Lang::En)
            ),
            CodeError::Letter { segment, found } => {
                format!("expected {}, found {found:?}", segment.expected(CodeForm::Unit).0)
            }
            CodeError::Digits { segment, found } => {
                format!("{}: expected {} digits, found {found:?}", segment.name_en(), segment.width())
            }
            CodeError::OutOfRange { segment, min, max, found } => {
                format!("{} must be in {min}..={max}, found {found}", segment.name_en())
            }
        }
    }
}

impl std::fmt::Display for CodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.message_zh(), self.message_en())
    }
}

impl std::error::Error for CodeError {}

/// The language of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Zh,
    En,
}

/// Quote a character for an error message, with a hint for full-width forms
/// (common when codes are typed with a Chinese input method).
pub(crate) fn quote_char(c: char, lang: Lang) -> String {
    let full_width = ('\u{FF01}'..='\u{FF5E}').contains(&c);
    match (lang, full_width, c == '\u{3000}') {
        (Lang::Zh, true, _) => format!("{c:?}（全角字符，请改用半角）"),
        (Lang::Zh, _, true) => format!("{c:?}（全角空格）"),
        (Lang::En, true, _) => format!("{c:?} (full-width character; use the half-width ASCII form)"),
        (Lang::En, _, true) => format!("{c:?} (full-width space)"),
        _ => format!("{c:?}"),
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
    // Positions 21-28 of a unit split by its fixture letter.
    let fixture = s.chars().nth(19);
    for (i, (c, &mask)) in s.chars().zip(masks).enumerate() {
        if !char_matches(c, mask) {
            let position = i + 1;
            let segment = Segment::at(form, position, fixture).unwrap_or(Segment::FixtureNumber);
            return Err(CodeError::Char { form, segment, position, found: c });
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

/// Range check for a number that fills `segment` of a code built from parts.
pub(crate) fn in_range(segment: Segment, value: u32, min: u32, max: u32) -> Result<u32, CodeError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(CodeError::OutOfRange { segment, min, max, found: value })
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
        assert!(matches!(e, CodeError::Char { position: 1, found: '３', segment: Segment::County, .. }));
        assert!(e.to_string().contains("full-width"), "{e}");
        assert!(e.message_zh().contains("全角字符，请改用半角"), "{e}");
    }

    #[test]
    fn char_error_names_position_expected_and_found() {
        let e = check("411702600021XB00001F00070027", CodeForm::Unit).unwrap_err();
        assert_eq!(e.segment(), Some(Segment::Ownership));
        assert_eq!(e.message_en(), "unit code (BDCDYH): position 13: expected ownership code G/J/Z, found 'X'");
        assert_eq!(e.message_zh(), "不动产单元代码第 13 位应为宗地特征码（所有权）G/J/Z，实际为 'X'");
        assert_eq!(e.to_string(), format!("{} / {}", e.message_zh(), e.message_en()));
    }

    /// One wrong character in each segment of a unit code: the error names
    /// that segment, the position, and says in Chinese what belongs there.
    #[test]
    fn each_segment_of_a_unit_code_is_named() {
        let good = "411702600021GB00001F00070027";
        let cases = [
            (3, 'x', Segment::County, "第 3 位应为数字 0-9（县级行政区划代码）"),
            (8, 'x', Segment::District, "第 8 位应为数字 0-9（地籍区）"),
            (11, 'x', Segment::Subdistrict, "第 11 位应为数字 0-9（地籍子区）"),
            (13, 'B', Segment::Ownership, "第 13 位应为宗地特征码（所有权）G/J/Z"),
            (14, 'b', Segment::ParcelType, "第 14 位应为宗地特征码（宗地类型）A-Z 或 0"),
            (17, 'x', Segment::Sequence, "第 17 位应为数字 0-9（宗地顺序号）"),
            (20, 'H', Segment::Fixture, "第 20 位应为定着物特征码 F/L/Q/W"),
            (22, 'x', Segment::BuildingNumber, "第 22 位应为数字 0-9（自然幢号）"),
            (27, 'x', Segment::HouseholdNumber, "第 27 位应为数字 0-9（户号）"),
        ];
        for (position, c, segment, zh) in cases {
            let mut chars: Vec<char> = good.chars().collect();
            chars[position - 1] = c;
            let bad: String = chars.into_iter().collect();
            let e = check(&bad, CodeForm::Unit).unwrap_err();
            assert_eq!(e, CodeError::Char { form: CodeForm::Unit, segment, position, found: c }, "{bad}");
            assert!(e.message_zh().starts_with("不动产单元代码"), "{e}");
            assert!(e.message_zh().contains(zh), "{e}");
            assert!(e.message_en().contains(&format!("position {position}")), "{e}");
        }
        // A land-only unit's tail is one fixture unit number.
        let e = check("411702600021GB00001W0000000x", CodeForm::Unit).unwrap_err();
        assert_eq!(e.segment(), Some(Segment::FixtureNumber));
        assert!(e.message_zh().contains("数字 0-9（定着物单元编号）"), "{e}");
    }

    #[test]
    fn each_segment_of_a_parcel_and_building_code_is_named() {
        let e = check("340824104207JA0002x", CodeForm::Parcel).unwrap_err();
        assert_eq!(e.segment(), Some(Segment::Sequence));
        assert_eq!(e.message_zh(), "宗地代码第 19 位应为数字 0-9（宗地顺序号），实际为 'x'");
        let e = check("411702600021GB00001W0007", CodeForm::Building).unwrap_err();
        assert_eq!(e.segment(), Some(Segment::Fixture));
        assert_eq!(e.message_zh(), "自然幢号第 20 位应为定着物特征码 F，实际为 'W'");
        let e = check("41170a", CodeForm::County).unwrap_err();
        assert_eq!(e.segment(), Some(Segment::County));
        assert_eq!(e.message_zh(), "县级行政区划代码第 6 位应为数字 0-9（县级行政区划代码），实际为 'a'");
    }

    #[test]
    fn length_errors_name_no_segment() {
        let e = check("340824104207JA0002", CodeForm::Parcel).unwrap_err();
        assert_eq!(e.segment(), None);
        assert_eq!(e.message_zh(), "宗地代码应为 19 位，实际为 18 位");
        assert_eq!(e.message_en(), "parcel code (ZDDM): expected 19 characters, found 18");
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
        assert_eq!(in_range(Segment::Sequence, 5, 1, 9), Ok(5));
        let e = in_range(Segment::Sequence, 0, 1, 9).unwrap_err();
        assert!(matches!(e, CodeError::OutOfRange { found: 0, segment: Segment::Sequence, .. }));
        assert_eq!(e.message_zh(), "宗地顺序号应在 1 至 9 之间，实际为 0");
        assert_eq!(e.message_en(), "parcel sequence number must be in 1..=9, found 0");
    }
}
