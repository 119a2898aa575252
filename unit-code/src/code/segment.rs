//! The segments of a code (GB/T 37346 table, DOMAIN.md §4): which positions
//! hold the county, the district, ..., the household number. Errors name the
//! segment that failed; `explain` names every segment of a valid code.

use std::fmt;

use super::CodeForm;

/// One segment of the 28-character unit code; the shorter forms are its
/// prefixes, except that a building code (ZRZH) ends at the building number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Segment {
    /// Positions 1-6: county-level administrative code (GB/T 2260).
    County,
    /// Positions 7-9: cadastral district 地籍区.
    District,
    /// Positions 10-12: cadastral sub-district 地籍子区.
    Subdistrict,
    /// Position 13: parcel feature code 1, land ownership (G/J/Z).
    Ownership,
    /// Position 14: parcel feature code 2, parcel type (A-Z or 0).
    ParcelType,
    /// Positions 13-14 together, the parcel feature code 宗地特征码 (when
    /// the two letters are given as one value and their number is wrong).
    Feature,
    /// Positions 15-19: parcel sequence number 宗地顺序号.
    Sequence,
    /// Position 20: fixture feature code 定着物特征码 (F/L/Q/W).
    Fixture,
    /// Positions 21-24 of a building (F) unit or building code: natural
    /// building number 自然幢号.
    BuildingNumber,
    /// Positions 25-28 of a building (F) unit: household number 户号.
    HouseholdNumber,
    /// Positions 21-28 of any other unit (L, Q, W): fixture unit number.
    FixtureNumber,
}

impl Segment {
    /// First and last 1-based position, inclusive.
    pub const fn positions(self) -> (usize, usize) {
        match self {
            Segment::County => (1, 6),
            Segment::District => (7, 9),
            Segment::Subdistrict => (10, 12),
            Segment::Ownership => (13, 13),
            Segment::ParcelType => (14, 14),
            Segment::Feature => (13, 14),
            Segment::Sequence => (15, 19),
            Segment::Fixture => (20, 20),
            Segment::BuildingNumber => (21, 24),
            Segment::HouseholdNumber => (25, 28),
            Segment::FixtureNumber => (21, 28),
        }
    }

    /// Number of characters.
    pub const fn width(self) -> usize {
        let (first, last) = self.positions();
        last + 1 - first
    }

    /// Whether 1-based `position` lies in this segment.
    pub const fn contains(self, position: usize) -> bool {
        let (first, last) = self.positions();
        first <= position && position <= last
    }

    /// Field name in Chinese.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Segment::County => "县级行政区划代码",
            Segment::District => "地籍区",
            Segment::Subdistrict => "地籍子区",
            Segment::Ownership => "宗地特征码：所有权",
            Segment::ParcelType => "宗地特征码：宗地类型",
            Segment::Feature => "宗地特征码",
            Segment::Sequence => "宗地顺序号",
            Segment::Fixture => "定着物特征码",
            Segment::BuildingNumber => "自然幢号",
            Segment::HouseholdNumber => "户号",
            Segment::FixtureNumber => "定着物单元编号",
        }
    }

    /// Field name in English.
    pub const fn name_en(self) -> &'static str {
        match self {
            Segment::County => "county (GB/T 2260 administrative code)",
            Segment::District => "cadastral district",
            Segment::Subdistrict => "cadastral sub-district",
            Segment::Ownership => "parcel feature 1: land ownership",
            Segment::ParcelType => "parcel feature 2: parcel type",
            Segment::Feature => "parcel feature code",
            Segment::Sequence => "parcel sequence number",
            Segment::Fixture => "fixture feature code",
            Segment::BuildingNumber => "natural building number",
            Segment::HouseholdNumber => "household number",
            Segment::FixtureNumber => "fixture unit number",
        }
    }

    /// The segment holding 1-based `position` of `form`, or `None` past its
    /// end. In a unit code, positions 21-28 are the building and household
    /// numbers when `fixture` (the character at position 20) is `F`, else
    /// one fixture unit number.
    ///
    /// ```
    /// use unit_code::{CodeForm, Segment};
    /// assert_eq!(Segment::at(CodeForm::Parcel, 13, None), Some(Segment::Ownership));
    /// assert_eq!(Segment::at(CodeForm::Unit, 26, Some('F')), Some(Segment::HouseholdNumber));
    /// assert_eq!(Segment::at(CodeForm::Unit, 26, Some('W')), Some(Segment::FixtureNumber));
    /// assert_eq!(Segment::at(CodeForm::Parcel, 20, None), None);
    /// ```
    pub fn at(form: CodeForm, position: usize, fixture: Option<char>) -> Option<Segment> {
        if position == 0 || position > form.len() {
            return None;
        }
        Some(match position {
            1..=6 => Segment::County,
            7..=9 => Segment::District,
            10..=12 => Segment::Subdistrict,
            13 => Segment::Ownership,
            14 => Segment::ParcelType,
            15..=19 => Segment::Sequence,
            20 => Segment::Fixture,
            _ if form == CodeForm::Building => Segment::BuildingNumber,
            _ if fixture != Some('F') => Segment::FixtureNumber,
            21..=24 => Segment::BuildingNumber,
            _ => Segment::HouseholdNumber,
        })
    }

    /// What a character (or the letters) of this segment must be, in English
    /// and Chinese. In a building code (ZRZH) the fixture code can only be `F`.
    pub(crate) const fn expected(self, form: CodeForm) -> (&'static str, &'static str) {
        match self {
            Segment::County => ("digit 0-9 (county code)", "数字 0-9（县级行政区划代码）"),
            Segment::District => ("digit 0-9 (cadastral district)", "数字 0-9（地籍区）"),
            Segment::Subdistrict => ("digit 0-9 (cadastral sub-district)", "数字 0-9（地籍子区）"),
            Segment::Ownership => ("ownership code G/J/Z", "宗地特征码（所有权）G/J/Z"),
            Segment::ParcelType => ("parcel type code A-Z or 0", "宗地特征码（宗地类型）A-Z 或 0"),
            Segment::Feature => (
                "parcel feature code: ownership G/J/Z then parcel type A-Z or 0, e.g. GB",
                "宗地特征码：所有权 G/J/Z 加宗地类型 A-Z 或 0，如 GB",
            ),
            Segment::Sequence => ("digit 0-9 (parcel sequence)", "数字 0-9（宗地顺序号）"),
            Segment::Fixture if matches!(form, CodeForm::Building) => ("'F' (building fixture code)", "定着物特征码 F"),
            Segment::Fixture => ("fixture code F/L/Q/W", "定着物特征码 F/L/Q/W"),
            Segment::BuildingNumber => ("digit 0-9 (building number)", "数字 0-9（自然幢号）"),
            Segment::HouseholdNumber => ("digit 0-9 (household number)", "数字 0-9（户号）"),
            Segment::FixtureNumber => ("digit 0-9 (fixture unit number)", "数字 0-9（定着物单元编号）"),
        }
    }
}

/// Chinese name, then the positions: `地籍区（第 7-9 位）`.
impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.positions() {
            (a, b) if a == b => write!(f, "{}（第 {a} 位）", self.name_zh()),
            (a, b) => write!(f, "{}（第 {a}-{b} 位）", self.name_zh()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_position_of_every_form_has_one_segment_that_contains_it() {
        for form in CodeForm::ALL {
            for fixture in [None, Some('F'), Some('W')] {
                for p in 1..=form.len() {
                    let s = Segment::at(form, p, fixture);
                    assert!(s.is_some_and(|s| s.contains(p)), "{form:?} {p} {fixture:?}: {s:?}");
                }
                assert_eq!(Segment::at(form, 0, fixture), None);
                assert_eq!(Segment::at(form, form.len() + 1, fixture), None);
            }
        }
    }

    #[test]
    fn a_building_code_ends_at_the_building_number() {
        assert_eq!(Segment::at(CodeForm::Building, 24, None), Some(Segment::BuildingNumber));
        assert_eq!(Segment::at(CodeForm::Unit, 24, Some('F')), Some(Segment::BuildingNumber));
        assert_eq!(Segment::at(CodeForm::Unit, 24, Some('L')), Some(Segment::FixtureNumber));
        assert_eq!(Segment::Fixture.expected(CodeForm::Building).1, "定着物特征码 F");
        assert_eq!(Segment::Fixture.expected(CodeForm::Unit).1, "定着物特征码 F/L/Q/W");
    }

    #[test]
    fn display_names_the_positions() {
        assert_eq!(Segment::District.to_string(), "地籍区（第 7-9 位）");
        assert_eq!(Segment::Fixture.to_string(), "定着物特征码（第 20 位）");
    }
}
