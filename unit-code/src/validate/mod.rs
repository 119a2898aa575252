//! Two-level validation of code strings: **errors** break the hard format
//! `^\d{12}[GJZ][A-Z0]\d{5}[FLQW]\d{8}$`; **warnings** flag what real data
//! breaks (combination rules, legacy numbering, virtual sub-districts), so
//! such data can be loaded and reported but is never passed as clean.
//!
//! Issue ids (stable, for machines):
//!
//! | id | level | position | meaning |
//! |---|---|---|---|
//! | `format.length` | error | — | wrong number of characters (counted as characters) |
//! | `format.char` | error | 1-28 | a character the position does not allow |
//! | `legacy.fixture_h` | error, warning if [`Options::lenient_legacy`] | 20 | fixture part `H00000000` |
//! | `legacy.parcel_type` | warning | 14 | parcel type outside `ABSXCDEFHGWY0` (L, N, ...) |
//! | `combination.ownership` | warning | 13 | A/C without `J`, H/G without `G` |
//! | `combination.fixture_w` | warning | 20 | `W` unit whose number is not `00000000` |
//! | `legacy.zero_building` | warning | 21 | building number `0000` |
//! | `legacy.zero_sequence` | warning | 15 | parcel sequence `00000` |
//! | `legacy.virtual_subdistrict` | warning | 7 | district + sub-district `000000` (not for H/G parcels) |
//! | `consistency.county` / `.district` / `.subdistrict` / `.feature` | from [`check_consistency`] | 1 or 13 | code differs from attributes |
//! | `linkage.parcel` / `linkage.building` | from [`check_consistency`], [`check_linkage`] | 1 | house not on the given parcel / building |
//!
//! The valid path checks digits eight bytes at a time, the letters by table,
//! and allocates nothing unless there is an issue to report.

mod consistency;
mod issue;

pub use consistency::{check_consistency, check_linkage, check_parcel_consistency, Expected};
pub use issue::{Issue, Part};

use crate::code::{char_matches, form_matches, CodeForm, ParcelFeature, ParcelType};

/// Validation options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Read the legacy fixture part `H00000000` (sea areas, some production
    /// systems) as a warning instead of an error, for migrating old data.
    /// Default: `false`.
    pub lenient_legacy: bool,
}

impl Options {
    /// Lenient legacy mode.
    pub const LENIENT: Options = Options { lenient_legacy: true };
}

/// Result of validating one code.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Hard format violations: the code is invalid.
    pub errors: Vec<Issue>,
    /// Rules real data breaks: the code is valid but not clean.
    pub warnings: Vec<Issue>,
}

impl Report {
    /// No errors (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// No errors and no warnings.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.warnings.is_empty()
    }

    /// Errors then warnings.
    pub fn issues(&self) -> impl Iterator<Item = &Issue> {
        self.errors.iter().chain(&self.warnings)
    }
}

/// Validate a 28-character unit code (不动产单元代码).
///
/// ```
/// use unit_code::validate::{validate, Options};
///
/// let ok = validate("411702600021GB00001F00070027", &Options::default());
/// assert!(ok.is_clean());
///
/// // Real data breaks the combination rules: valid, with a warning.
/// let gc = validate("320802006001GC00001W00000000", &Options::default());
/// assert!(gc.is_valid());
/// assert_eq!(gc.warnings[0].id(), "combination.ownership");
///
/// let bad = validate("411702600021XB00001F00070027", &Options::default());
/// assert!(!bad.is_valid());
/// assert_eq!(bad.errors[0].id(), "format.char");
/// assert_eq!(bad.errors[0].position(), Some(13));
///
/// // Legacy sea-area form: an error by default, a warning when lenient.
/// let h = "460200001001GH00001H00000000";
/// assert!(!validate(h, &Options::default()).is_valid());
/// assert!(validate(h, &Options { lenient_legacy: true }).is_valid());
/// ```
pub fn validate(code: &str, options: &Options) -> Report {
    validate_as(code, CodeForm::Unit, options)
}

/// Validate a 19-character parcel code (宗地代码).
pub fn validate_parcel(code: &str, options: &Options) -> Report {
    validate_as(code, CodeForm::Parcel, options)
}

/// Validate a 24-character building code (自然幢号).
pub fn validate_building(code: &str, options: &Options) -> Report {
    validate_as(code, CodeForm::Building, options)
}

/// Validate by length: 6, 9, 12, 19, 24 or 28 characters pick the form;
/// any other length is reported against the unit code form.
pub fn validate_any(code: &str, options: &Options) -> Report {
    let form = CodeForm::from_len(code.len())
        .filter(|_| code.is_ascii())
        .or_else(|| CodeForm::from_len(code.chars().count()))
        .unwrap_or(CodeForm::Unit);
    validate_as(code, form, options)
}

/// Validate `code` as `form`.
pub fn validate_as(code: &str, form: CodeForm, options: &Options) -> Report {
    let mut report = Report::default();
    validate_into(code, form, options, &mut report);
    report
}

/// Validate `code` as `form` into `report`, which is cleared first. For bulk
/// validation: reusing one report keeps codes with issues from allocating.
///
/// ```
/// use unit_code::validate::{validate_into, Options, Report};
/// use unit_code::CodeForm;
///
/// let mut report = Report::default();
/// for code in ["320802006001GC00001W00000000", "411702600021GB00001F00070027"] {
///     validate_into(code, CodeForm::Unit, &Options::default(), &mut report);
///     assert!(report.is_valid());
/// }
/// assert!(report.is_clean()); // the last code's report
/// ```
pub fn validate_into(code: &str, form: CodeForm, options: &Options, report: &mut Report) {
    report.errors.clear();
    report.warnings.clear();
    let bytes = code.as_bytes();
    if !form_matches(bytes, form) {
        format_issues(code, form, options, report);
        if !report.errors.is_empty() {
            return;
        }
    }
    legacy_warnings(bytes, form, &mut report.warnings);
}

/// Slow path: find every format problem of a string that failed the table.
fn format_issues(code: &str, form: CodeForm, options: &Options, report: &mut Report) {
    let masks = form.masks();
    let found = code.chars().count();
    if found != masks.len() {
        report.errors.push(Issue::Length { form, found });
        return;
    }
    for (i, (c, &mask)) in code.chars().zip(masks).enumerate() {
        if char_matches(c, mask) {
            continue;
        }
        let position = i + 1;
        if form == CodeForm::Unit && position == 20 && c == 'H' && code.ends_with("H00000000") {
            let target = if options.lenient_legacy { &mut report.warnings } else { &mut report.errors };
            target.push(Issue::FixtureH);
        } else {
            report.errors.push(Issue::Char { form, position, found: c });
        }
    }
}

/// Warnings on a string that passed the hard format (all ASCII, right length).
fn legacy_warnings(b: &[u8], form: CodeForm, warnings: &mut Vec<Issue>) {
    // Byte tests first; the typed feature is built only to report it.
    let marine = b.len() >= 14 && matches!(b[13], b'H' | b'G');
    if b.len() >= 14 {
        let (o, t) = (b[12], b[13]);
        let standard =
            matches!(t, b'A' | b'B' | b'S' | b'X' | b'C' | b'D' | b'E' | b'F' | b'H' | b'G' | b'W' | b'Y' | b'0');
        let combination = match t {
            b'A' | b'C' => o == b'J',
            b'H' | b'G' => o == b'G',
            _ => true,
        };
        if !(standard && combination) {
            if let Some(feature) = ParcelFeature::from_bytes([o, t]) {
                if let ParcelType::NonStandard(letter) = feature.parcel_type {
                    warnings.push(Issue::NonStandardParcelType { letter: letter.as_char() });
                }
                if !feature.is_standard_combination() {
                    warnings.push(Issue::Combination { feature });
                }
            }
        }
    }
    // Sea areas and islands legitimately carry 000000 (notes: GTMap checkXndyh).
    if b.len() >= 12 && &b[6..12] == b"000000" && !marine {
        warnings.push(Issue::VirtualSubdistrict);
    }
    if b.len() >= 19 && &b[14..19] == b"00000" {
        warnings.push(Issue::ZeroSequence);
    }
    match form {
        CodeForm::Building if &b[20..24] == b"0000" => warnings.push(Issue::ZeroBuilding),
        CodeForm::Unit => match b[19] {
            b'F' if &b[20..24] == b"0000" => warnings.push(Issue::ZeroBuilding),
            b'W' if &b[20..28] != b"00000000" => {
                let mut tail = [0u8; 8];
                tail.copy_from_slice(&b[20..28]);
                warnings.push(Issue::LandOnlyWithNumber { tail });
            }
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(issues: &[Issue]) -> Vec<&'static str> {
        issues.iter().map(Issue::id).collect()
    }

    const STRICT: Options = Options { lenient_legacy: false };

    #[test]
    fn real_codes_are_clean() {
        for c in ["411702600021GB00001F00070027", "370105012002GB00001F00010751", "441903012003GB00001F00020063"] {
            assert!(validate(c, &STRICT).is_clean(), "{c}");
        }
        assert!(validate_parcel("340824104207JA00024", &STRICT).is_clean());
        assert!(validate_building("411702600021GB00001F0007", &STRICT).is_clean());
    }

    #[test]
    fn gc_land_unit_is_valid_with_combination_warning() {
        let r = validate("320802006001GC00001W00000000", &STRICT);
        assert!(r.is_valid());
        assert_eq!(ids(&r.warnings), ["combination.ownership"]);
        assert_eq!(r.warnings[0].position(), Some(13));
    }

    #[test]
    fn length_error_counts_characters() {
        let r = validate("411702600021GB00001F0007002", &STRICT);
        assert_eq!(r.errors, [Issue::Length { form: CodeForm::Unit, found: 27 }]);
        let r = validate("不动产单元代码", &STRICT);
        assert_eq!(r.errors, [Issue::Length { form: CodeForm::Unit, found: 7 }]);
        let r = validate("", &STRICT);
        assert_eq!(r.errors, [Issue::Length { form: CodeForm::Unit, found: 0 }]);
    }

    #[test]
    fn every_bad_char_is_reported() {
        let r = validate("41170a600021XB00001K0007002７", &STRICT);
        let pos: Vec<_> = r.errors.iter().map(Issue::position).collect();
        assert_eq!(pos, [Some(6), Some(13), Some(20), Some(28)]);
        assert!(r.errors.iter().all(|e| e.id() == "format.char"));
        assert!(r.errors[3].message_en().contains("full-width"));
        // Lowercase letters are not accepted.
        assert_eq!(validate("411702600021gB00001F00070027", &STRICT).errors[0].position(), Some(13));
        assert_eq!(validate("411702600021Gb00001F00070027", &STRICT).errors[0].position(), Some(14));
        assert_eq!(validate("411702600021GB00001f00070027", &STRICT).errors[0].position(), Some(20));
    }

    #[test]
    fn fixture_h_error_or_warning() {
        let h = "460200001001GH00001H00000000";
        let strict = validate(h, &STRICT);
        assert_eq!(ids(&strict.errors), ["legacy.fixture_h"]);
        let lenient = validate(h, &Options::LENIENT);
        assert!(lenient.errors.is_empty());
        assert_eq!(ids(&lenient.warnings), ["legacy.fixture_h"]);
        // H with a non-zero tail is a plain format error even when lenient.
        let r = validate("460200001001GH00001H00000001", &Options::LENIENT);
        assert_eq!(ids(&r.errors), ["format.char"]);
        // Lenient H still gets the other warnings.
        let r = validate("460200000000GB00000H00000000", &Options::LENIENT);
        assert_eq!(ids(&r.warnings), ["legacy.fixture_h", "legacy.virtual_subdistrict", "legacy.zero_sequence"]);
    }

    #[test]
    fn non_standard_parcel_type_warns() {
        for (code, letter) in [("411702600021GL00001F00070027", 'L'), ("411702600021JN00001W00000000", 'N')] {
            let r = validate(code, &STRICT);
            assert!(r.is_valid());
            assert_eq!(r.warnings, [Issue::NonStandardParcelType { letter }]);
        }
        // 0 (land management right) is standard.
        assert!(validate("411702600021J000001W00000000", &STRICT).is_clean());
    }

    #[test]
    fn combination_rules_warn() {
        for code in [
            "411702600021GA00001W00000000",
            "411702600021ZC00001W00000000",
            "411702600021JH00001W00000000",
            "411702600021ZG00001W00000000",
        ] {
            assert_eq!(ids(&validate(code, &STRICT).warnings), ["combination.ownership"], "{code}");
        }
        for code in ["411702600021JA00001W00000000", "411702600021GH00001W00000000"] {
            assert!(validate(code, &STRICT).is_clean(), "{code}");
        }
    }

    #[test]
    fn fixture_number_rules_warn() {
        let r = validate("411702600021GB00001W00000001", &STRICT);
        assert_eq!(ids(&r.warnings), ["combination.fixture_w"]);
        assert!(r.warnings[0].message_en().ends_with("00000001"));
        let r = validate("411702600021GB00001F00000027", &STRICT);
        assert_eq!(ids(&r.warnings), ["legacy.zero_building"]);
        assert_eq!(r.warnings[0].position(), Some(21));
        // L and Q units carry any number.
        assert!(validate("411702600021JE00001L00000000", &STRICT).is_clean());
        assert!(validate("411702600021GB00001Q00000003", &STRICT).is_clean());
    }

    #[test]
    fn zero_sequence_and_virtual_warn() {
        let r = validate("411702600021GB00000F00070027", &STRICT);
        assert_eq!(ids(&r.warnings), ["legacy.zero_sequence"]);
        let r = validate("411702000000GB00001F00070027", &STRICT);
        assert_eq!(ids(&r.warnings), ["legacy.virtual_subdistrict"]);
        // Only 000000 in both parts counts.
        assert!(validate("411702000001GB00001F00070027", &STRICT).is_clean());
        // Sea areas (H) and islands (G) are exempt.
        assert!(validate("460200000000GH00001W00000000", &STRICT).is_clean());
        assert!(validate("460200000000GG00001W00000000", &STRICT).is_clean());
    }

    #[test]
    fn parcel_and_building_forms() {
        assert_eq!(ids(&validate_parcel("340824104207JA0002", &STRICT).errors), ["format.length"]);
        assert_eq!(
            ids(&validate_parcel("340824104207GA00000", &STRICT).warnings),
            ["combination.ownership", "legacy.zero_sequence"]
        );
        let r = validate_building("411702600021GB00001W0007", &STRICT);
        assert_eq!(r.errors, [Issue::Char { form: CodeForm::Building, position: 20, found: 'W' }]);
        assert!(r.errors[0].message_en().contains("'F'"));
        assert_eq!(ids(&validate_building("411702600021GB00001F0000", &STRICT).warnings), ["legacy.zero_building"]);
        // The H form exists only for unit codes.
        assert_eq!(ids(&validate_building("411702600021GB00001H0000", &Options::LENIENT).errors), ["format.char"]);
    }

    #[test]
    fn validate_any_picks_form_by_length() {
        assert!(validate_any("340824104207JA00024", &STRICT).is_clean());
        assert!(validate_any("411702600021GB00001F0007", &STRICT).is_clean());
        assert!(validate_any("411702600021", &STRICT).is_clean());
        assert!(validate_any("411702600021GB00001F00070027", &STRICT).is_clean());
        assert_eq!(ids(&validate_any("4117026", &STRICT).errors), ["format.length"]);
        // Full-width 19 characters: treated as a parcel code, errors per char.
        let fw = "３４０８２４１０４２０７ＪＡ０００２４";
        let r = validate_any(fw, &STRICT);
        assert_eq!(r.errors.len(), 19);
    }
}
