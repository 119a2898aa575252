//! Byte-level layout of the code forms: which character class each position
//! accepts. Parsing and validation share these tables so both agree exactly
//! on the hard format `^\d{12}[GJZ][A-Z0]\d{5}[FLQW]\d{8}$`.

use std::fmt;

use super::Segment;

/// Class bit: ASCII digit.
pub(crate) const DIGIT: u8 = 1;
/// Class bit: ownership letter G/J/Z (position 13).
pub(crate) const OWNERSHIP: u8 = 2;
/// Class bit: parcel type, any uppercase ASCII letter or `0` (position 14).
pub(crate) const PARCEL_TYPE: u8 = 4;
/// Class bit: fixture letter F/L/Q/W (position 20 of a unit code).
pub(crate) const FIXTURE: u8 = 8;
/// Class bit: the literal `F` at position 20 of a building code (ZRZH).
pub(crate) const BUILDING_MARK: u8 = 16;

/// For every byte, the set of classes it belongs to.
pub(crate) static BYTE_CLASS: [u8; 256] = build_byte_class();

const fn build_byte_class() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = b'0';
    while b <= b'9' {
        t[b as usize] |= DIGIT;
        b += 1;
    }
    t[b'0' as usize] |= PARCEL_TYPE;
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] |= PARCEL_TYPE;
        b += 1;
    }
    t[b'G' as usize] |= OWNERSHIP;
    t[b'J' as usize] |= OWNERSHIP;
    t[b'Z' as usize] |= OWNERSHIP;
    t[b'F' as usize] |= FIXTURE | BUILDING_MARK;
    t[b'L' as usize] |= FIXTURE;
    t[b'Q' as usize] |= FIXTURE;
    t[b'W' as usize] |= FIXTURE;
    t
}

const D: u8 = DIGIT;

/// Accepted classes per position of the 28-character unit code. The county,
/// district, sub-district and parcel forms are prefixes of it.
pub(crate) static UNIT_MASKS: [u8; 28] = [
    D,
    D,
    D,
    D,
    D,
    D, // county
    D,
    D,
    D, // district
    D,
    D,
    D, // sub-district
    OWNERSHIP,
    PARCEL_TYPE, // feature
    D,
    D,
    D,
    D,
    D,       // sequence
    FIXTURE, // fixture kind
    D,
    D,
    D,
    D,
    D,
    D,
    D,
    D, // fixture unit number
];

/// Accepted classes per position of the 24-character building code (ZRZH).
pub(crate) static BUILDING_MASKS: [u8; 24] =
    [D, D, D, D, D, D, D, D, D, D, D, D, OWNERSHIP, PARCEL_TYPE, D, D, D, D, D, BUILDING_MARK, D, D, D, D];

/// The code forms of the hierarchy, by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CodeForm {
    /// 6 digits, county-level administrative code (GB/T 2260).
    County,
    /// 9 digits, cadastral district 地籍区.
    District,
    /// 12 digits, cadastral sub-district 地籍子区.
    Subdistrict,
    /// 19 characters, parcel code 宗地代码 (ZDDM).
    Parcel,
    /// 24 characters, natural building number 自然幢号 (ZRZH).
    Building,
    /// 28 characters, real-estate unit code 不动产单元代码 (BDCDYH).
    Unit,
}

impl CodeForm {
    /// All forms, shortest first.
    pub const ALL: [CodeForm; 6] = [
        CodeForm::County,
        CodeForm::District,
        CodeForm::Subdistrict,
        CodeForm::Parcel,
        CodeForm::Building,
        CodeForm::Unit,
    ];

    /// Number of characters of this form.
    #[allow(clippy::len_without_is_empty)] // a form is never empty
    pub const fn len(self) -> usize {
        match self {
            CodeForm::County => 6,
            CodeForm::District => 9,
            CodeForm::Subdistrict => 12,
            CodeForm::Parcel => 19,
            CodeForm::Building => 24,
            CodeForm::Unit => 28,
        }
    }

    /// The form whose length is `chars` characters, if any.
    pub fn from_len(chars: usize) -> Option<CodeForm> {
        CodeForm::ALL.into_iter().find(|f| f.len() == chars)
    }

    /// English name.
    pub const fn name_en(self) -> &'static str {
        match self {
            CodeForm::County => "county code",
            CodeForm::District => "cadastral district code",
            CodeForm::Subdistrict => "cadastral sub-district code",
            CodeForm::Parcel => "parcel code (ZDDM)",
            CodeForm::Building => "building code (ZRZH)",
            CodeForm::Unit => "unit code (BDCDYH)",
        }
    }

    /// Chinese name.
    pub const fn name_zh(self) -> &'static str {
        match self {
            CodeForm::County => "县级行政区划代码",
            CodeForm::District => "地籍区代码",
            CodeForm::Subdistrict => "地籍子区代码",
            CodeForm::Parcel => "宗地代码",
            CodeForm::Building => "自然幢号",
            CodeForm::Unit => "不动产单元代码",
        }
    }

    pub(crate) fn masks(self) -> &'static [u8] {
        match self {
            CodeForm::Building => &BUILDING_MASKS,
            other => &UNIT_MASKS[..other.len()],
        }
    }

    /// What a character at 1-based `position` must be, in English and Chinese.
    /// Without the code at hand, positions 21-28 of a unit code read as one
    /// fixture unit number.
    pub(crate) fn expected(self, position: usize) -> (&'static str, &'static str) {
        Segment::at(self, position, None).unwrap_or(Segment::FixtureNumber).expected(self)
    }
}

impl fmt::Display for CodeForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name_zh(), self.name_en())
    }
}

/// True when `bytes` has exactly the length of `masks` and every byte is in
/// its position's class. No early exit: the loop stays branch-free.
#[inline]
pub(crate) fn matches(bytes: &[u8], masks: &[u8]) -> bool {
    bytes.len() == masks.len()
        && bytes.iter().zip(masks).fold(true, |ok, (&b, &m)| ok & (BYTE_CLASS[b as usize] & m != 0))
}

/// Fast hard-format check of the 28-character unit form: the 25 digit
/// positions are tested eight at a time (SWAR), the three letters by table.
#[inline]
pub(crate) fn unit_format_ok(b: &[u8]) -> bool {
    let Ok(a) = <&[u8; 28]>::try_from(b) else {
        return false;
    };
    let word = |i: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&a[i..i + 8]);
        u64::from_le_bytes(x)
    };
    // Bytes 14..22 hold the sequence, the fixture letter (byte 5 of the
    // word) and two digits: put a '0' in the letter's place for the test.
    let seq = (word(14) & !(0xFF << 40)) | (0x30 << 40);
    all_digits(word(0))
        & all_digits(word(4))
        & all_digits(seq)
        & all_digits(word(20))
        & (BYTE_CLASS[a[12] as usize] & OWNERSHIP != 0)
        & (BYTE_CLASS[a[13] as usize] & PARCEL_TYPE != 0)
        & (BYTE_CLASS[a[19] as usize] & FIXTURE != 0)
}

/// All eight bytes of `x` are ASCII digits: high nibble 3, and adding 6
/// to the low nibble does not carry into the high one.
#[inline]
const fn all_digits(x: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const SIX: u64 = 0x0606_0606_0606_0606;
    (x & HIGH) == ZEROS && (x.wrapping_add(SIX) & HIGH) == ZEROS
}

/// Hard-format check of `bytes` as `form`.
#[inline]
pub(crate) fn form_matches(bytes: &[u8], form: CodeForm) -> bool {
    match form {
        CodeForm::Unit => unit_format_ok(bytes),
        other => matches(bytes, other.masks()),
    }
}

/// True when the character `c` is accepted by class set `mask`.
#[inline]
pub(crate) fn char_matches(c: char, mask: u8) -> bool {
    c.is_ascii() && BYTE_CLASS[c as usize] & mask != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_masks_accept_real_code() {
        assert!(matches(b"411702600021GB00001F00070027", &UNIT_MASKS));
        assert!(!matches(b"411702600021XB00001F00070027", &UNIT_MASKS));
        assert!(!matches(b"411702600021GB00001H00000000", &UNIT_MASKS));
        assert!(!matches(b"411702600021GB00001F0007002", &UNIT_MASKS));
    }

    #[test]
    fn swar_check_agrees_with_table_for_every_byte_at_every_position() {
        let base = *b"411702600021GB00001F00070027";
        assert!(unit_format_ok(&base));
        for pos in 0..28 {
            for byte in 0..=255u8 {
                let mut s = base;
                s[pos] = byte;
                assert_eq!(unit_format_ok(&s), matches(&s, &UNIT_MASKS), "pos {pos} byte {byte:#x}");
            }
        }
        assert!(!unit_format_ok(&base[..27]));
    }

    #[test]
    fn building_masks_require_f() {
        assert!(matches(b"411702600021GB00001F0007", &BUILDING_MASKS));
        assert!(!matches(b"411702600021GB00001W0007", &BUILDING_MASKS));
    }

    #[test]
    fn forms_by_length() {
        for f in CodeForm::ALL {
            assert_eq!(CodeForm::from_len(f.len()), Some(f));
            assert_eq!(f.masks().len(), f.len());
        }
        assert_eq!(CodeForm::from_len(20), None);
    }
}
