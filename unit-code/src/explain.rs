//! Explain a code segment by segment, in Chinese and English.

use std::fmt;

use crate::code::{check, digits_value, CodeError, CodeForm, FixtureKind, Ownership, ParcelType, Segment as Field};
use crate::validate::{validate_as, Issue, Options};

/// One segment of a code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    /// First position, 1-based.
    pub start: usize,
    /// Last position, 1-based, inclusive.
    pub end: usize,
    /// The characters of the segment.
    pub raw: String,
    /// Field name in Chinese.
    pub field_zh: &'static str,
    /// Field name in English.
    pub field_en: &'static str,
    /// What the value means, in Chinese.
    pub meaning_zh: String,
    /// What the value means, in English.
    pub meaning_en: String,
}

/// A code taken apart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// The code as given.
    pub code: String,
    /// Its form, picked by length.
    #[serde(serialize_with = "form_name")]
    pub form: CodeForm,
    /// Segments in order.
    pub segments: Vec<Segment>,
    /// Warnings from validation (lenient legacy mode).
    pub warnings: Vec<Issue>,
}

fn form_name<S: serde::Serializer>(form: &CodeForm, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{}", form.name_en()))
}

/// Explain any form of the hierarchy (6, 9, 12, 19, 24 or 28 characters).
/// Legacy `H00000000` units are explained with a warning.
///
/// ```
/// use unit_code::explain::explain;
/// let e = explain("411702600021GB00001F00070027").unwrap();
/// assert_eq!(e.segments[0].raw, "411702");
/// assert_eq!(e.segments[4].meaning_en, "construction land use right (surface)");
/// assert_eq!(e.segments.last().unwrap().meaning_zh, "第 27 户");
/// assert!(explain("411702600021XB00001F00070027").is_err());
/// ```
pub fn explain(code: &str) -> Result<Explanation, CodeError> {
    let chars = code.chars().count();
    let Some(form) = CodeForm::from_len(chars) else {
        return Err(CodeError::Length { form: CodeForm::Unit, expected: CodeForm::Unit.len(), found: chars });
    };
    let report = validate_as(code, form, &Options::LENIENT);
    if !report.is_valid() {
        check(code, form)?;
    }
    // Valid (possibly lenient H): all ASCII from here on.
    let b = code.as_bytes();
    let mut segments = Vec::with_capacity(10);
    let mut seg = |field: Field, zh: String, en: String| {
        let (start, end) = field.positions();
        segments.push(Segment {
            start,
            end,
            raw: code[start - 1..end].to_owned(),
            field_zh: field.name_zh(),
            field_en: field.name_en(),
            meaning_zh: zh,
            meaning_en: en,
        });
    };
    let raw = |s: usize, e: usize| &code[s - 1..e];
    seg(
        Field::County,
        format!("县级行政区 {}", raw(1, 6)),
        format!("county-level administrative division {}", raw(1, 6)),
    );
    if form == CodeForm::County {
        return Ok(Explanation { code: code.to_owned(), form, segments, warnings: report.warnings });
    }
    let virtual_area = b.len() >= 12 && &b[6..12] == b"000000";
    seg(Field::District, format!("第 {} 地籍区", digits_value(&b[6..9])), format!("cadastral district {}", raw(7, 9)));
    if b.len() >= 12 {
        let (zh, en) = if virtual_area {
            (
                "虚拟或过渡期单元（地籍区、子区均为 000）".to_owned(),
                "virtual or transitional (district and sub-district 000)".to_owned(),
            )
        } else {
            (format!("第 {} 地籍子区", digits_value(&b[9..12])), format!("cadastral sub-district {}", raw(10, 12)))
        };
        seg(Field::Subdistrict, zh, en);
    }
    if b.len() >= 19 {
        if let Some(o) = Ownership::from_byte(b[12]) {
            seg(Field::Ownership, o.name_zh().into(), o.name_en().into());
        }
        if let Some(t) = ParcelType::from_byte(b[13]) {
            seg(Field::ParcelType, t.name_zh().into(), t.name_en().into());
        }
        let n = digits_value(&b[14..19]);
        seg(
            Field::Sequence,
            format!("本地籍子区同特征码下第 {n} 宗"),
            format!("parcel No. {n} of this feature code in the sub-district"),
        );
    }
    if b.len() >= 24 {
        let kind = FixtureKind::from_byte(b[19]);
        let (zh, en) = match kind {
            Some(k) => (k.name_zh().to_owned(), k.name_en().to_owned()),
            None => (
                "H：旧系统宗海写法，非标准定着物特征码（应为 W）".to_owned(),
                "H: legacy sea-area form, not a fixture code (standard: W)".to_owned(),
            ),
        };
        seg(Field::Fixture, zh, en);
        let fixture_digits = (form == CodeForm::Building) || kind == Some(FixtureKind::Building);
        if fixture_digits {
            let n = digits_value(&b[20..24]);
            seg(Field::BuildingNumber, format!("宗地内第 {n} 幢"), format!("building No. {n} on the parcel"));
            if form == CodeForm::Unit {
                let h = digits_value(&b[24..28]);
                let (zh, en) = if h == 0 {
                    ("整幢为一个单元".to_owned(), "the whole building is one unit".to_owned())
                } else {
                    (format!("第 {h} 户"), format!("household No. {h} (a sequence number, not the room number)"))
                };
                seg(Field::HouseholdNumber, zh, en);
            }
        } else {
            let n = digits_value(&b[20..28]);
            let (zh, en) = if n == 0 {
                ("00000000".to_owned(), "00000000".to_owned())
            } else {
                (format!("第 {n} 号定着物单元"), format!("fixture unit No. {n}"))
            };
            seg(Field::FixtureNumber, zh, en);
        }
    }
    Ok(Explanation { code: code.to_owned(), form, segments, warnings: report.warnings })
}

/// A readable table: positions and values first (ASCII, so columns line up
/// whatever the terminal's width for Chinese), then field and meaning.
impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}  {} / {}", self.code, self.form.name_zh(), self.form.name_en())?;
        writeln!(f, "{:<7} {:<9} 字段 field / 含义 meaning", "pos", "value")?;
        for s in &self.segments {
            let pos = if s.start == s.end { s.start.to_string() } else { format!("{}-{}", s.start, s.end) };
            writeln!(f, "{pos:<7} {:<9} {} / {}", s.raw, s.field_zh, s.field_en)?;
            writeln!(f, "{:<17} → {} / {}", "", s.meaning_zh, s.meaning_en)?;
        }
        for w in &self.warnings {
            writeln!(f, "warning [{}] {} / {}", w.id(), w.message_zh(), w.message_en())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(e: &Explanation) -> Vec<(usize, usize)> {
        e.segments.iter().map(|s| (s.start, s.end)).collect()
    }

    #[test]
    fn unit_segments_cover_the_code() {
        let e = explain("370105012002GB00001F00010751").unwrap();
        assert_eq!(ranges(&e), [(1, 6), (7, 9), (10, 12), (13, 13), (14, 14), (15, 19), (20, 20), (21, 24), (25, 28)]);
        let joined: String = e.segments.iter().map(|s| s.raw.as_str()).collect();
        assert_eq!(joined, e.code);
        assert_eq!(e.segments[3].meaning_zh, "国家土地所有权");
        assert_eq!(e.segments[7].meaning_en, "building No. 1 on the parcel");
        assert_eq!(e.segments[8].meaning_zh, "第 751 户");
        assert!(e.warnings.is_empty());
    }

    #[test]
    fn land_unit_and_whole_building() {
        let e = explain("320802006001GC00001W00000000").unwrap();
        assert_eq!(ranges(&e).last(), Some(&(21, 28)));
        assert_eq!(e.segments[6].meaning_en, "no fixture (land only)");
        assert_eq!(e.warnings[0].id(), "combination.ownership");
        let whole = explain("441903012003GB00001F00020000").unwrap();
        assert_eq!(whole.segments[8].meaning_en, "the whole building is one unit");
    }

    #[test]
    fn shorter_forms() {
        assert_eq!(ranges(&explain("340824104207JA00024").unwrap()).len(), 6);
        assert_eq!(ranges(&explain("411702600021GB00001F0007").unwrap()).len(), 8);
        assert_eq!(ranges(&explain("411702600021").unwrap()).len(), 3);
        assert_eq!(ranges(&explain("411702600").unwrap()).len(), 2);
        assert_eq!(ranges(&explain("411702").unwrap()).len(), 1);
    }

    #[test]
    fn legacy_h_is_explained_with_warning() {
        let e = explain("460200001001GH00001H00000000").unwrap();
        assert!(e.segments[6].meaning_en.starts_with("H: legacy"));
        assert_eq!(e.warnings[0].id(), "legacy.fixture_h");
    }

    #[test]
    fn virtual_subdistrict_is_named() {
        let e = explain("411702000000GB00001W00000000").unwrap();
        assert!(e.segments[2].meaning_en.starts_with("virtual"));
    }

    #[test]
    fn errors() {
        assert!(matches!(explain("12345"), Err(CodeError::Length { found: 5, .. })));
        assert!(matches!(
            explain("411702600021GB00001F0007002x"),
            Err(CodeError::Char { position: 28, found: 'x', .. })
        ));
    }

    #[test]
    fn table_and_json() {
        let e = explain("411702600021GB00001F00070027").unwrap();
        let t = e.to_string();
        assert!(t.contains("13      G         宗地特征码：所有权"), "{t}");
        assert!(t.contains("→ 第 27 户"), "{t}");
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["form"], "unit code (BDCDYH)");
        assert_eq!(j["segments"][0]["field_en"], "county (GB/T 2260 administrative code)");
        assert_eq!(j["segments"].as_array().unwrap().len(), 9);
    }
}
