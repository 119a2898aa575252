//! The building tables (楼盘表) of a folder the app imports: `buildings/<ZRZH>.csv` or
//! `.xlsx` (the layout `tile-server import` and result packages use), with what lies beside
//! it: the floor plans of `<ZRZH>.floorplan.json` (分层分户图, checked against the table),
//! and the zones, shared spaces and agreed shares of `<ZRZH>.apportion.json` taken into the
//! building's apportionment set-up. A shared space the floor plan draws comes from the plan,
//! not a second time from the JSON (an exported package carries both). The apportionment
//! itself is not taken as run: the surveyor runs it in the app, so what is shown is always
//! computed from what is there.

use std::path::{Path, PathBuf};

use cadastre_core::apportion::ApportionInput;
use cadastre_core::building::{read_csv, read_xlsx, BuildingTable, Editor};
use cadastre_core::floorplan::FloorPlan;

use crate::model::units::{key_floors, BuildingUnits, Units};

/// What was read: the tables by ZRZH, and one message per file that could not be used.
#[derive(Debug, Default)]
pub struct FolderTables {
    /// The tables read.
    pub units: Units,
    /// Files skipped, each with its reason.
    pub problems: Vec<String>,
}

/// Table files of `folder/buildings`, sorted; none when the folder has no such directory.
fn table_files(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder.join("buildings")) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("xlsx")))
        .collect();
    files.sort();
    files
}

/// Reads the building tables of an imported folder (see the module doc).
pub fn read_folder_tables(folder: &Path, who: &str) -> FolderTables {
    let mut out = FolderTables::default();
    let by = Editor::now(who);
    for path in table_files(folder) {
        let name = path.display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                out.problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let xlsx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
        let read = if xlsx { read_xlsx(&bytes, &by) } else { read_csv(bytes.as_slice(), &by) };
        let table = match read {
            Ok((table, _report)) => table,
            Err(e) => {
                out.problems.push(format!("楼盘表 {name} 无法读取 cannot be read: {e}"));
                continue;
            }
        };
        let zrzh = table.zrzh.clone();
        if out.units.contains_key(&zrzh) {
            out.problems.push(format!("楼盘表 {name}: 自然幢 {zrzh} 已有一张表 a second table of building {zrzh}"));
            continue;
        }
        let mut units = BuildingUnits::new(&zrzh);
        let plan_path = path.with_extension("floorplan.json");
        if plan_path.is_file() {
            match read_plan(&plan_path, &table) {
                Ok(plan) => units.plan = plan,
                Err(e) => out.problems.push(format!("分层分户图 {}: {e}", plan_path.display())),
            }
        }
        units.table = table;
        let drawn: Vec<String> = units.plan.shared_inputs().into_iter().map(|s| s.id).collect();
        let json = path.with_extension("apportion.json");
        if json.is_file() {
            match std::fs::read_to_string(&json)
                .map_err(|e| e.to_string())
                .and_then(|t| ApportionInput::from_json(t.trim_start_matches('\u{feff}')).map_err(|e| e.to_string()))
            {
                Ok(input) => {
                    if let Some(warning) = drawn_twice(&drawn, &input) {
                        out.problems.push(format!("{}: {warning}", json.display()));
                    }
                    units.setup.zones = input.zones;
                    for mut s in input.shared {
                        if let Some(shares) = s.shares.take() {
                            units.setup.agreed.insert(s.id.clone(), shares);
                        }
                        if !drawn.contains(&s.id) {
                            units.setup.shared.push(s);
                        }
                    }
                }
                Err(e) => out.problems.push(format!("{}: {e}", json.display())),
            }
        }
        out.units.insert(zrzh, units);
    }
    out
}

/// A warning when an apportionment input beside a floor plan names none of the spaces
/// the plan draws: it was not made from this plan (an exported package's input names
/// them all), so its spaces and the plan's both apportion and may be the same stairs.
fn drawn_twice(drawn: &[String], input: &ApportionInput) -> Option<String> {
    let listed: Vec<&str> = input.shared.iter().map(|s| s.id.as_str()).collect();
    if drawn.is_empty() || listed.is_empty() || listed.iter().any(|id| drawn.iter().any(|d| d == id)) {
        return None;
    }
    let few = |ids: Vec<&str>| ids.iter().take(4).copied().collect::<Vec<_>>().join(", ");
    Some(format!(
        "其共有部位（{}）与分层分户图所画（{}…）不同，两者都会参与分摊，请核对是否重复 / its shared spaces differ \
         from those the floor plan draws; both apportion: check for spaces counted twice",
        few(listed),
        few(drawn.iter().map(String::as_str).collect())
    ))
}

/// A floor plan file, which must be of this table's building and draw only its
/// current households, each on its own floor; floors of an older file that name no
/// logical building are keyed from the table.
fn read_plan(path: &Path, table: &BuildingTable) -> Result<FloorPlan, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut plan = FloorPlan::from_json(&text).map_err(|e| e.to_string())?;
    plan.check_against(table).map_err(|e| format!("与楼盘表不符 does not match the building table: {e}"))?;
    key_floors(&mut plan, table);
    plan.validate().map_err(|e| e.to_string())?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::units::Staleness;

    #[test]
    fn the_sample_district_brings_its_tables_and_their_shared_spaces() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
        let t = read_folder_tables(&dir, "测量员");
        // The walk-up's floor plan comes along; its apportionment input names the plan's
        // stairwells, which come from the plan only, and the entrance hall the plan does
        // not draw, which comes from the input.
        let walk_up = "330106001001GB00002F0001";
        assert_eq!(t.units.get(walk_up).map(|u| u.plan.floors.len()), Some(6));
        assert!(t.problems.is_empty(), "{:?}", t.problems);
        let hand: Vec<&str> = t.units[walk_up].setup.shared.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(hand, ["entrance"]);
        assert_eq!(t.units.len(), 4, "{:?}", t.units.keys().collect::<Vec<_>>());
        for (zrzh, u) in &t.units {
            assert_eq!(&u.table.zrzh, zrzh);
            assert!(u.table.current().next().is_some(), "{zrzh} has no households");
            assert_eq!(u.staleness(), Staleness::NeverRun, "{zrzh}");
        }
        // The buildings with an apportionment input bring shared spaces that apportion.
        let with_shared: Vec<&BuildingUnits> = t.units.values().filter(|u| !u.setup.shared.is_empty()).collect();
        assert!(!with_shared.is_empty());
        for u in with_shared {
            let input = u.apportion_input().unwrap_or_else(|e| panic!("{}: {e}", u.table.zrzh));
            let r = cadastre_core::apportion::Apportion::apportion(&input).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.totals.apportioned, r.totals.shared_area, "{}", u.table.zrzh);
        }
    }

    #[test]
    fn an_input_naming_none_of_the_drawn_spaces_is_said_to_count_them_twice() {
        let input = |ids: &[&str]| ApportionInput {
            shared: ids
                .iter()
                .map(|id| cadastre_core::apportion::SharedInput {
                    id: (*id).into(),
                    name: None,
                    area: "10.00".parse().unwrap_or_default(),
                    serves: Default::default(),
                    shares: None,
                })
                .collect(),
            building: "Z".into(),
            method: Default::default(),
            zones: Vec::new(),
            units: Vec::new(),
        };
        let drawn = ["F1-stair1".to_owned(), "F1-outer-wall".to_owned()];
        let warning = drawn_twice(&drawn, &input(&["stairs", "entrance"])).unwrap_or_default();
        assert!(warning.contains("stairs") && warning.contains("F1-stair1") && warning.contains("重复"), "{warning}");
        assert_eq!(drawn_twice(&drawn, &input(&["F1-stair1", "entrance"])), None, "made from the plan");
        assert_eq!(drawn_twice(&[], &input(&["stairs"])), None, "no plan");
    }

    #[test]
    fn a_bad_table_is_named_and_the_others_still_load() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let b = dir.path().join("buildings");
        std::fs::create_dir(&b).unwrap_or_else(|e| panic!("{e}"));
        let sample =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district/buildings/330106001001GB00001F0001.csv");
        std::fs::copy(&sample, b.join("330106001001GB00001F0001.csv")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(b.join("broken.csv"), "not,a\nbuilding,table\n").unwrap_or_else(|e| panic!("{e}"));
        let t = read_folder_tables(dir.path(), "测量员");
        assert_eq!(t.units.len(), 1);
        assert_eq!(t.problems.len(), 1, "{:?}", t.problems);
        assert!(t.problems[0].contains("broken.csv"), "{:?}", t.problems);
    }
}
