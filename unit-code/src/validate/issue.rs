//! Validation findings: a typed enum with stable machine ids and messages in
//! Chinese and English.

use serde::ser::SerializeStruct;

use crate::code::{quote_char, CodeForm, Lang, ParcelFeature};

/// One finding about a code. Whether it is an error or a warning is decided
/// by the validator (see [`crate::validate::Report`]), not by the variant:
/// [`Issue::FixtureH`] is either, depending on the options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Issue {
    /// `format.length`: wrong number of characters.
    Length {
        /// The form checked.
        form: CodeForm,
        /// Characters found.
        found: usize,
    },
    /// `format.char`: a character the position does not allow.
    Char {
        /// The form checked.
        form: CodeForm,
        /// 1-based position.
        position: usize,
        /// The character found.
        found: char,
    },
    /// `legacy.fixture_h`: fixture part `H00000000`, written for sea areas
    /// by some production systems; `H` is not a fixture code.
    FixtureH,
    /// `legacy.parcel_type`: parcel type letter outside `ABSXCDEFHGWY0`.
    NonStandardParcelType {
        /// The letter.
        letter: char,
    },
    /// `combination.ownership`: A/C need `J`, H/G need `G`.
    Combination {
        /// The feature code found.
        feature: ParcelFeature,
    },
    /// `combination.fixture_w`: a land-only unit (`W`) with a non-zero number.
    LandOnlyWithNumber {
        /// The 8 digits after `W`.
        tail: [u8; 8],
    },
    /// `legacy.zero_building`: building number `0000`.
    ZeroBuilding,
    /// `legacy.zero_sequence`: parcel sequence `00000`.
    ZeroSequence,
    /// `legacy.virtual_subdistrict`: district and sub-district `000000`.
    VirtualSubdistrict,
    /// `consistency.*` / `linkage.*`: a part of the code differs from the
    /// unit's attributes.
    Mismatch {
        /// Which part.
        part: Part,
        /// What the attributes say.
        expected: String,
        /// What the code says.
        found: String,
    },
}

/// A part of a code compared against attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// County, positions 1-6.
    County,
    /// Cadastral district, positions 1-9.
    District,
    /// Cadastral sub-district, positions 1-12.
    Subdistrict,
    /// Parcel feature code, positions 13-14.
    Feature,
    /// The parcel code (first 19 characters) against the parcel it lies on.
    Parcel,
    /// The building code (first 24 characters) against its building.
    Building,
}

impl Part {
    fn id(self) -> &'static str {
        match self {
            Part::County => "consistency.county",
            Part::District => "consistency.district",
            Part::Subdistrict => "consistency.subdistrict",
            Part::Feature => "consistency.feature",
            Part::Parcel => "linkage.parcel",
            Part::Building => "linkage.building",
        }
    }

    fn position(self) -> usize {
        match self {
            Part::Feature => 13,
            _ => 1,
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Part::County => ("county code", "县级行政区划代码"),
            Part::District => ("cadastral district", "地籍区"),
            Part::Subdistrict => ("cadastral sub-district", "地籍子区"),
            Part::Feature => ("parcel feature code", "宗地特征码"),
            Part::Parcel => ("parcel code", "宗地代码"),
            Part::Building => ("building code", "自然幢号"),
        }
    }
}

impl Issue {
    /// Stable machine id, e.g. `format.char`.
    pub fn id(&self) -> &'static str {
        match self {
            Issue::Length { .. } => "format.length",
            Issue::Char { .. } => "format.char",
            Issue::FixtureH => "legacy.fixture_h",
            Issue::NonStandardParcelType { .. } => "legacy.parcel_type",
            Issue::Combination { .. } => "combination.ownership",
            Issue::LandOnlyWithNumber { .. } => "combination.fixture_w",
            Issue::ZeroBuilding => "legacy.zero_building",
            Issue::ZeroSequence => "legacy.zero_sequence",
            Issue::VirtualSubdistrict => "legacy.virtual_subdistrict",
            Issue::Mismatch { part, .. } => part.id(),
        }
    }

    /// 1-based position the finding points at, if any.
    pub fn position(&self) -> Option<usize> {
        match self {
            Issue::Length { .. } => None,
            Issue::Char { position, .. } => Some(*position),
            Issue::FixtureH | Issue::LandOnlyWithNumber { .. } => Some(20),
            Issue::NonStandardParcelType { .. } => Some(14),
            Issue::Combination { .. } => Some(13),
            Issue::ZeroBuilding => Some(21),
            Issue::ZeroSequence => Some(15),
            Issue::VirtualSubdistrict => Some(7),
            Issue::Mismatch { part, .. } => Some(part.position()),
        }
    }

    /// Message in English.
    pub fn message_en(&self) -> String {
        match self {
            Issue::Length { form, found } => {
                format!("{} must have {} characters, found {found}", form.name_en(), form.len())
            }
            Issue::Char { form, position, found } => {
                format!(
                    "position {position}: expected {}, found {}",
                    form.expected(*position).0,
                    quote_char(*found, Lang::En)
                )
            }
            Issue::FixtureH => "fixture part H00000000 (legacy sea-area form): H is not a fixture code; \
                                the standard form is W00000000"
                .to_owned(),
            Issue::NonStandardParcelType { letter } => {
                format!("parcel type '{letter}' is not one of ABSXCDEFHGWY0 (written under another rule version)")
            }
            Issue::Combination { feature } => format!(
                "feature code {feature}: {} must have ownership {}",
                feature.parcel_type.name_en(),
                required_ownership(*feature)
            ),
            Issue::LandOnlyWithNumber { tail } => {
                format!("land-only unit (W) must end in 00000000, found {}", String::from_utf8_lossy(tail))
            }
            Issue::ZeroBuilding => "building number 0000 (legacy data; numbers start at 0001)".to_owned(),
            Issue::ZeroSequence => "parcel sequence 00000 (legacy data; numbers start at 00001)".to_owned(),
            Issue::VirtualSubdistrict => "district and sub-district 000000: virtual or transitional unit".to_owned(),
            Issue::Mismatch { part, expected, found } => {
                format!("{} in the code is {found}, the attributes say {expected}", part.names().0)
            }
        }
    }

    /// Message in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            Issue::Length { form, found } => {
                format!("{}应为 {} 位，实际 {found} 位", form.name_zh(), form.len())
            }
            Issue::Char { form, position, found } => {
                format!("第 {position} 位应为{}，实际为 {}", form.expected(*position).1, quote_char(*found, Lang::Zh))
            }
            Issue::FixtureH => {
                "定着物部分为 H00000000（旧系统宗海写法）：H 不是定着物特征码，标准写法为 W00000000".to_owned()
            }
            Issue::NonStandardParcelType { letter } => {
                format!("宗地类型 '{letter}' 不在 ABSXCDEFHGWY0 之内（其他版本编码规则）")
            }
            Issue::Combination { feature } => format!(
                "宗地特征码 {feature}：{}只能与所有权 {} 组合",
                feature.parcel_type.name_zh(),
                required_ownership(*feature)
            ),
            Issue::LandOnlyWithNumber { tail } => {
                format!("无定着物单元（W）应以 00000000 结尾，实际为 {}", String::from_utf8_lossy(tail))
            }
            Issue::ZeroBuilding => "自然幢号为 0000（历史数据；应从 0001 起编）".to_owned(),
            Issue::ZeroSequence => "宗地顺序号为 00000（历史数据；应从 00001 起编）".to_owned(),
            Issue::VirtualSubdistrict => "地籍区和地籍子区为 000000：虚拟或过渡期单元".to_owned(),
            Issue::Mismatch { part, expected, found } => {
                format!("代码中的{}为 {found}，与属性 {expected} 不一致", part.names().1)
            }
        }
    }
}

fn required_ownership(feature: ParcelFeature) -> &'static str {
    if feature.parcel_type.is_marine() {
        "G"
    } else {
        "J"
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.id(), self.message_en())
    }
}

/// Serialized as `{"id","position","message_zh","message_en"}`.
impl serde::Serialize for Issue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Issue", 4)?;
        st.serialize_field("id", self.id())?;
        st.serialize_field("position", &self.position())?;
        st.serialize_field("message_zh", &self.message_zh())?;
        st.serialize_field("message_en", &self.message_en())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct() {
        let gc: ParcelFeature = "GC".parse().unwrap();
        let all = [
            Issue::Length { form: CodeForm::Unit, found: 3 },
            Issue::Char { form: CodeForm::Unit, position: 1, found: 'x' },
            Issue::FixtureH,
            Issue::NonStandardParcelType { letter: 'L' },
            Issue::Combination { feature: gc },
            Issue::LandOnlyWithNumber { tail: *b"00000001" },
            Issue::ZeroBuilding,
            Issue::ZeroSequence,
            Issue::VirtualSubdistrict,
        ];
        let mut ids: Vec<_> = all.iter().map(Issue::id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        for i in &all {
            assert!(!i.message_zh().is_empty() && !i.message_en().is_empty());
        }
    }

    #[test]
    fn json_shape() {
        let i = Issue::Char { form: CodeForm::Unit, position: 13, found: 'X' };
        let v = serde_json::to_value(&i).unwrap();
        assert_eq!(v["id"], "format.char");
        assert_eq!(v["position"], 13);
        assert_eq!(v["message_en"], "position 13: expected ownership code G/J/Z, found 'X'");
        assert_eq!(v["message_zh"], "第 13 位应为宗地特征码（所有权）G/J/Z，实际为 'X'");
        let l = serde_json::to_value(Issue::Length { form: CodeForm::Unit, found: 27 }).unwrap();
        assert!(l["position"].is_null());
        assert_eq!(l["message_en"], "unit code (BDCDYH) must have 28 characters, found 27");
    }

    #[test]
    fn combination_message_names_the_rule() {
        let gc: ParcelFeature = "GC".parse().unwrap();
        let i = Issue::Combination { feature: gc };
        assert_eq!(i.message_en(), "feature code GC: homestead use right must have ownership J");
        let jh: ParcelFeature = "JH".parse().unwrap();
        assert!(Issue::Combination { feature: jh }.message_en().ends_with("ownership G"));
    }
}
