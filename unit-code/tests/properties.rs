//! Property tests: building codes from random valid parts round-trips
//! through strings and serde, validates without errors, and agrees with a
//! straightforward reference implementation of the hard format; arbitrary
//! input never panics.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use unit_code::explain::explain;
use unit_code::validate::{validate, validate_any, validate_building, validate_parcel, Options};
use unit_code::{
    BuildingCode, CodeError, CodeForm, CountyCode, DistrictCode, FixtureKind, Ownership, ParcelCode, ParcelFeature,
    ParcelType, Segment, SubdistrictCode, UnitCode,
};

fn county() -> impl Strategy<Value = CountyCode> {
    "[0-9]{6}".prop_map(|s| s.parse().unwrap())
}

fn subdistrict() -> impl Strategy<Value = SubdistrictCode> {
    (county(), 0u16..=999, 0u16..=999)
        .prop_map(|(c, d, s)| SubdistrictCode::new(DistrictCode::new(c, d).unwrap(), s).unwrap())
}

fn feature() -> impl Strategy<Value = ParcelFeature> {
    (prop::sample::select(Ownership::ALL.to_vec()), prop::sample::select(ParcelType::STANDARD.to_vec()))
        .prop_map(|(o, t)| ParcelFeature::new(o, t))
}

fn parcel() -> impl Strategy<Value = ParcelCode> {
    (subdistrict(), feature(), 1u32..=99_999).prop_map(|(s, f, n)| ParcelCode::new(s, f, n).unwrap())
}

fn building() -> impl Strategy<Value = BuildingCode> {
    (parcel(), 1u16..=9_999).prop_map(|(p, n)| BuildingCode::new(p, n).unwrap())
}

/// Units of every shape the constructors make.
fn unit() -> impl Strategy<Value = UnitCode> {
    prop_oneof![
        (building(), 1u16..=9_999).prop_map(|(b, h)| UnitCode::household(b, h).unwrap()),
        building().prop_map(UnitCode::whole_building),
        parcel().prop_map(UnitCode::land_only),
        (parcel(), prop::sample::select(vec![FixtureKind::Trees, FixtureKind::Other]), 0u32..=99_999_999)
            .prop_map(|(p, k, n)| UnitCode::with_fixture(p, k, n).unwrap()),
    ]
}

/// The hard format written the obvious way, as an oracle.
fn reference_is_valid(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() == 28
        && c[..12].iter().all(char::is_ascii_digit)
        && "GJZ".contains(c[12])
        && (c[13].is_ascii_uppercase() || c[13] == '0')
        && c[14..19].iter().all(char::is_ascii_digit)
        && "FLQW".contains(c[19])
        && c[20..].iter().all(char::is_ascii_digit)
}

/// Strings close to codes: mostly digits and code letters, some noise.
fn near_code() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        8 => prop::char::range('0', '9'),
        3 => prop::sample::select(vec!['G', 'J', 'Z', 'B', 'A', 'C', 'H', 'L', 'N', 'F', 'W', 'Q', 'x']),
        1 => prop::sample::select(vec!['０', '３', 'Ｇ', ' ', '宗', '\u{0}', 'é']),
    ];
    prop::collection::vec(ch, 26..=30).prop_map(|v| v.into_iter().collect())
}

const STRICT: Options = Options { lenient_legacy: false };

proptest! {
    #[test]
    fn unit_round_trips(u in unit()) {
        let s = u.to_string();
        prop_assert_eq!(s.parse::<UnitCode>().unwrap(), u);
        prop_assert_eq!(UnitCode::try_from(s.as_str()).unwrap(), u);
        let json = serde_json::to_string(&u).unwrap();
        prop_assert_eq!(json.clone(), format!("\"{s}\""));
        prop_assert_eq!(serde_json::from_str::<UnitCode>(&json).unwrap(), u);
        prop_assert!(validate(&s, &STRICT).is_valid());
        prop_assert!(explain(&s).is_ok());
    }

    #[test]
    fn unit_parts_are_consistent(b in building(), h in 1u16..=9_999) {
        let u = UnitCode::household(b, h).unwrap();
        prop_assert_eq!(u.building(), Some(b));
        prop_assert_eq!(u.household_no(), Some(h));
        prop_assert_eq!(u.parcel(), b.parcel());
        prop_assert_eq!(u.subdistrict(), b.parcel().subdistrict());
        prop_assert_eq!(u.fixture_kind(), FixtureKind::Building);
        let land = u.land_unit();
        prop_assert_eq!(&land.as_str()[..19], &u.as_str()[..19]);
        prop_assert_eq!(&land.as_str()[19..], "W00000000");
        prop_assert!(validate(land.as_str(), &STRICT).is_valid());
        // Clean land unit unless the parts themselves carry a warning.
        let parcel_warnings = validate_parcel(u.parcel().as_str(), &STRICT).warnings;
        prop_assert_eq!(validate(land.as_str(), &STRICT).warnings, parcel_warnings);
    }

    #[test]
    fn parcel_and_building_round_trip(p in parcel(), n in 1u16..=9_999) {
        prop_assert_eq!(p.as_str().parse::<ParcelCode>().unwrap(), p);
        prop_assert_eq!(serde_json::from_str::<ParcelCode>(&serde_json::to_string(&p).unwrap()).unwrap(), p);
        prop_assert!(validate_parcel(p.as_str(), &STRICT).is_valid());
        let b = BuildingCode::new(p, n).unwrap();
        prop_assert_eq!(b.as_str().parse::<BuildingCode>().unwrap(), b);
        prop_assert_eq!(b.parcel(), p);
        prop_assert_eq!(b.number(), n);
        prop_assert!(validate_building(b.as_str(), &STRICT).is_clean() || p.sequence() == 0
            || !p.feature().is_standard_combination() || p.subdistrict().is_virtual());
    }

    #[test]
    fn subdistrict_parts(s in subdistrict(), f in feature(), seq in 1u32..=99_999) {
        let p = ParcelCode::new(s, f, seq).unwrap();
        prop_assert_eq!(p.subdistrict(), s);
        prop_assert_eq!(p.district(), s.district());
        prop_assert_eq!(p.county(), s.county());
        prop_assert_eq!(p.feature(), f);
        prop_assert_eq!(p.sequence(), seq);
    }

    #[test]
    fn validation_agrees_with_reference(s in near_code()) {
        let strict = validate(&s, &STRICT);
        prop_assert_eq!(strict.is_valid(), reference_is_valid(&s), "{:?}", strict);
        prop_assert_eq!(s.parse::<UnitCode>().is_ok(), reference_is_valid(&s));
        // Errors point at real positions and carry both languages.
        for issue in strict.issues() {
            if let Some(p) = issue.position() {
                prop_assert!((1..=28).contains(&p));
            }
            prop_assert!(!issue.message_zh().is_empty() && !issue.message_en().is_empty());
        }
    }

    #[test]
    fn parse_error_position_is_the_first_bad_char(u in unit(), pos in 0usize..28, c in any::<char>()) {
        let mut chars: Vec<char> = u.as_str().chars().collect();
        chars[pos] = c;
        let s: String = chars.into_iter().collect();
        match s.parse::<UnitCode>() {
            Ok(_) => prop_assert!(reference_is_valid(&s)),
            Err(CodeError::Char { position, found, .. }) => {
                prop_assert_eq!(position, pos + 1);
                prop_assert_eq!(found, c);
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    /// Any valid code of any form round-trips; one character replaced by any
    /// other either leaves a valid code of the same form (there is no check
    /// digit, so e.g. another digit is simply another code) or is reported
    /// at that position, in the segment holding it, in Chinese and English.
    #[test]
    fn one_corrupted_character_is_valid_or_names_its_segment(
        code in prop_oneof![
            parcel().prop_map(|p| (CodeForm::Parcel, p.to_string())),
            building().prop_map(|b| (CodeForm::Building, b.to_string())),
            unit().prop_map(|u| (CodeForm::Unit, u.to_string())),
        ],
        pos in 0usize..28,
        c in any::<char>(),
    ) {
        let (form, good) = code;
        let pos = pos % form.len();
        let reparse = |s: &str| -> Result<String, CodeError> {
            match form {
                CodeForm::Parcel => s.parse::<ParcelCode>().map(|c| c.to_string()),
                CodeForm::Building => s.parse::<BuildingCode>().map(|c| c.to_string()),
                _ => s.parse::<UnitCode>().map(|c| c.to_string()),
            }
        };
        prop_assert_eq!(reparse(&good), Ok(good.clone()));
        let mut chars: Vec<char> = good.chars().collect();
        chars[pos] = c;
        let bad: String = chars.iter().collect();
        match reparse(&bad) {
            Ok(s) => prop_assert_eq!(s, bad),
            Err(e) => {
                let position = pos + 1;
                let segment = e.segment();
                prop_assert!(matches!(e, CodeError::Char { position: p, found, .. } if p == position && found == c), "{e}");
                prop_assert!(segment.is_some_and(|s| s.contains(position)), "{e}: {segment:?}");
                // A unit's tail is read by its own fixture letter (unchanged here).
                let expected = Segment::at(form, position, good.chars().nth(19));
                prop_assert_eq!(segment, expected);
                prop_assert!(e.message_zh().contains(&format!("第 {position} 位")), "{e}");
                prop_assert!(e.message_en().contains(&format!("position {position}")), "{e}");
            }
        }
    }

    #[test]
    fn arbitrary_input_never_panics(s in any::<String>()) {
        let _ = validate(&s, &STRICT);
        let _ = validate(&s, &Options { lenient_legacy: true });
        let _ = validate_any(&s, &STRICT);
        let _ = explain(&s);
        let _ = s.parse::<UnitCode>();
        let _ = s.parse::<ParcelCode>();
        let _ = s.parse::<BuildingCode>();
        let _ = s.parse::<ParcelFeature>();
        let _ = serde_json::from_str::<UnitCode>(&format!("{s:?}"));
    }
}
