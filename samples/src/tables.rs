//! Building tables (楼盘表) and apportionment inputs for a few featured
//! buildings, in the exchange format of `notes/csv-format.md`: the core's columns
//! ([`COLUMNS`]) and apportionment input ([`ApportionInput`]).

use cadastre_core::apportion::{ApportionInput, Area, Serves, SharedInput, UnitInput, ZoneInput};
use cadastre_core::area::round2;
use cadastre_core::building::COLUMNS;
use cadastre_core::floorplan::FloorPlan;
use rand::Rng;
use serde::Serialize;

use crate::codes;
use crate::config::Error;
use crate::model::Building;

/// One household row of a building table.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdRow {
    /// LJZH 逻辑幢号.
    pub ljzh: String,
    /// DYH 单元号 (empty for shops and basements).
    pub dyh: String,
    /// MYC 名义层 (negative below ground, never 0).
    pub myc: i32,
    /// SJC 实际层, "3" or "2-3".
    pub sjc: String,
    /// HH 户号 (1..=9999).
    pub hh: u32,
    /// SHBW 室号部位.
    pub shbw: String,
    /// BDCDYH 不动产单元代码.
    pub bdcdyh: String,
    /// HX 户型.
    pub hx: String,
    /// FWYT 房屋用途.
    pub fwyt: String,
    /// GNQ 功能区 id.
    pub gnq: String,
    /// FWJG 房屋结构.
    pub fwjg: String,
    /// YCTNJZMJ 预测套内建筑面积.
    pub predicted: f64,
    /// SCTNJZMJ 实测套内建筑面积.
    pub measured: f64,
    /// ZL 坐落.
    pub zl: String,
}

/// A building table with its apportionment input.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildingTable {
    /// ZRZH 自然幢号.
    pub zrzh: String,
    /// Households, lowest floor first.
    pub rows: Vec<HouseholdRow>,
    /// Apportionment input.
    pub apportion: ApportionInput,
    /// Floor plan JSON (分层分户图), for the buildings that have one.
    pub floorplan: Option<String>,
}

/// The featured building kinds, in the order they are given to block 0's first parcels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Featured {
    /// 商住楼: two basements (parking, storage), shops on 1-2 (nominal 2 = physical 2-3), flats above.
    MixedUse,
    /// 6-floor walk-up, 2 stair units.
    WalkUp,
    /// 11-floor tower with one storage basement.
    Tower,
    /// 5-floor office building.
    Office,
}

impl Featured {
    /// Kinds by parcel position in block 0.
    pub const ORDER: [Featured; 4] = [Featured::MixedUse, Featured::WalkUp, Featured::Tower, Featured::Office];
}

/// Zone ids and names of one building.
type Zones = Vec<(&'static str, &'static str)>;

struct Plan<'a, R> {
    rows: Vec<HouseholdRow>,
    zrzh: &'a str,
    addr: &'a str,
    fwjg: &'static str,
    rng: &'a mut R,
}

impl<R: Rng> Plan<'_, R> {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        dyh: &str,
        myc: i32,
        sjc: &str,
        shbw: String,
        hx: &str,
        fwyt: &str,
        gnq: &str,
        base: f64,
    ) -> Result<(), Error> {
        let hh = self.rows.len() as u32 + 1;
        let predicted = round2(base + self.rng.gen_range(-3.0..3.0));
        let measured = round2(predicted + self.rng.gen_range(-0.4..0.4));
        let zl =
            if dyh.is_empty() { format!("{}{shbw}", self.addr) } else { format!("{}{dyh}单元{shbw}室", self.addr) };
        self.rows.push(HouseholdRow {
            ljzh: "1".into(),
            dyh: dyh.into(),
            myc,
            sjc: sjc.into(),
            hh,
            shbw,
            bdcdyh: codes::household(self.zrzh, hh)?,
            hx: hx.into(),
            fwyt: fwyt.into(),
            gnq: gnq.into(),
            fwjg: self.fwjg.into(),
            predicted,
            measured,
            zl,
        });
        Ok(())
    }

    fn flats(&mut self, floors: std::ops::RangeInclusive<i32>, physical_offset: i32) -> Result<(), Error> {
        for f in floors {
            for dyh in ["1", "2"] {
                for (room, hx, base) in [(1, "三室两厅", 112.0), (2, "两室两厅", 89.5)] {
                    let sjc = (f + physical_offset).to_string();
                    self.add(dyh, f, &sjc, format!("{f}{room:02}"), hx, "住宅", "res", base)?;
                }
            }
        }
        Ok(())
    }
}

/// An area the generator rounded to 0.01 m² already, exactly in hundredths.
fn area(m2: f64) -> Area {
    // A building's areas are far below 2^53 hundredths.
    #[allow(clippy::cast_possible_truncation)]
    Area::from_hundredths((m2 * 100.0).round() as i64)
}

fn shared(id: &str, m2: f64, serves: Serves) -> SharedInput {
    SharedInput { id: id.into(), name: None, area: area(m2), serves, shares: None }
}
fn whole() -> Serves {
    Serves { building: Some(true), ..Serves::default() }
}
fn zone(z: &str, floor: Option<i32>) -> Serves {
    Serves { zone: Some(z.into()), floor, ..Serves::default() }
}

/// Makes the table of a featured building and sets the building's floor
/// counts, use, structure and areas to agree with it.
///
/// # Errors
/// [`Error::Code`] if a household code cannot be made.
pub fn featured<R: Rng>(
    kind: Featured,
    building: &mut Building,
    address: &str,
    rng: &mut R,
) -> Result<BuildingTable, Error> {
    let zrzh = building.zrzh.clone();
    let addr = format!("{address}{}幢", zrzh[20..].trim_start_matches('0'));
    let fwjg = if kind == Featured::WalkUp { "混合" } else { "钢筋混凝土" };
    let mut plan = Plan { rows: Vec::new(), zrzh: &zrzh, addr: &addr, fwjg, rng };
    let (above, below, use_, zones, shares): (u32, u32, &str, Zones, Vec<SharedInput>);
    // Floor plan JSON: the walk-up has one.
    let mut floorplan = None;
    match kind {
        Featured::MixedUse => {
            for k in 1..=8 {
                plan.add("", -2, "-2", format!("B2-{k:02}"), "储藏间", "储藏", "sto", 11.0)?;
            }
            for k in 1..=12 {
                plan.add("", -1, "-1", format!("B1-{k:02}"), "车位", "车库", "park", 16.0)?;
            }
            for k in 1..=4 {
                plan.add("", 1, "1", format!("商铺1{k:02}"), "商铺", "商业", "com", 85.0)?;
            }
            for k in 1..=2 {
                // Double-height shops: nominal floor 2 spans physical floors 2 and 3.
                plan.add("", 2, "2-3", format!("商铺2{k:02}"), "商铺", "商业", "com", 160.0)?;
            }
            plan.flats(3..=12, 1)?;
            (above, below, use_) = (12, 2, "商住");
            zones = vec![("res", "住宅"), ("com", "商业"), ("park", "车库"), ("sto", "储藏")];
            shares = vec![
                shared("lift", 236.40, whole()),
                shared("res-hall", 412.80, zone("res", None)),
                shared("f1-corridor", 58.60, zone("com", Some(1))),
                shared("ramp", 96.00, zone("park", None)),
                shared("b2-corridor", 44.20, zone("sto", Some(-2))),
                shared(
                    "agreed",
                    12.00,
                    Serves { units: Some(vec!["0021".into(), "0022".into()]), ..Serves::default() },
                ),
            ];
        }
        Featured::WalkUp => {
            plan.flats(1..=6, 0)?;
            (above, below, use_) = (6, 0, "住宅");
            zones = vec![("res", "住宅")];
            let entrance = shared("entrance", 24.60, zone("res", Some(1)));
            // The stairs are the floor plan's stairwells (and its outer-wall halves), as
            // the plan computes them, so the plan and this input do not count them twice.
            floorplan = crate::floorplan::walkup(&zrzh, &building.geometry, &plan.rows);
            shares = match floorplan.as_deref().map(FloorPlan::from_json) {
                Some(Ok(drawn)) => drawn.shared_inputs().into_iter().chain([entrance]).collect(),
                _ => vec![shared("stairs", 168.30, whole()), entrance],
            };
        }
        Featured::Tower => {
            for k in 1..=6 {
                plan.add("", -1, "-1", format!("B1-{k:02}"), "储藏间", "储藏", "sto", 10.0)?;
            }
            plan.flats(1..=11, 0)?;
            (above, below, use_) = (11, 1, "住宅");
            zones = vec![("res", "住宅"), ("sto", "储藏")];
            shares = vec![
                shared("lift", 198.70, whole()),
                shared("res-hall", 286.50, zone("res", None)),
                shared("b1-corridor", 31.20, zone("sto", Some(-1))),
            ];
        }
        Featured::Office => {
            for f in 1..=5 {
                for k in 1..=4 {
                    plan.add("", f, &f.to_string(), format!("{f}{k:02}"), "办公", "办公", "off", 140.0)?;
                }
            }
            (above, below, use_) = (5, 0, "办公");
            zones = vec![("off", "办公")];
            shares = vec![shared("lift", 142.30, whole()), shared("f1-lobby", 88.40, zone("off", Some(1)))];
        }
    }
    let rows = plan.rows;
    let shared_total: f64 = shares.iter().map(|s| s.area.m2()).sum();
    building.floors_above = above;
    building.floors_below = below;
    building.floors = above + below;
    building.planned_use = use_.into();
    building.structure = fwjg.into();
    building.predicted_area = round2(rows.iter().map(|r| r.predicted).sum::<f64>() + shared_total);
    building.measured_area = round2(rows.iter().map(|r| r.measured).sum::<f64>() + shared_total);
    let apportion = ApportionInput {
        building: zrzh.clone(),
        method: cadastre_core::apportion::Method::default(),
        zones: zones.into_iter().map(|(id, name)| ZoneInput { id: id.into(), name: name.into() }).collect(),
        units: rows
            .iter()
            .map(|r| UnitInput {
                id: format!("{:04}", r.hh),
                zone: r.gnq.clone(),
                floor: r.myc,
                inner_area: area(r.measured),
                room: None,
            })
            .collect(),
        shared: shares,
    };
    Ok(BuildingTable { zrzh, rows, apportion, floorplan })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl BuildingTable {
    /// The CSV file: UTF-8 with a BOM, CRLF line ends, one row per household.
    #[must_use]
    pub fn to_csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        out.push_str(&COLUMNS.join(","));
        out.push_str("\r\n");
        for r in &self.rows {
            let fields = [
                self.zrzh.clone(),
                r.ljzh.clone(),
                r.dyh.clone(),
                r.myc.to_string(),
                r.sjc.clone(),
                format!("{:04}", r.hh),
                r.shbw.clone(),
                r.bdcdyh.clone(),
                r.hx.clone(),
                r.fwyt.clone(),
                r.gnq.clone(),
                r.fwjg.clone(),
                format!("{:.2}", r.predicted),
                format!("{:.2}", r.measured),
                r.zl.clone(),
            ];
            out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// The apportionment JSON (pretty-printed, newline-terminated). It leaves out
    /// `method`: there is one, the default, and the files were written without it.
    #[must_use]
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct File<'a> {
            building: &'a str,
            zones: &'a [ZoneInput],
            units: &'a [UnitInput],
            shared: &'a [SharedInput],
        }
        let a = &self.apportion;
        let file = File { building: &a.building, zones: &a.zones, units: &a.units, shared: &a.shared };
        let mut s = serde_json::to_string_pretty(&file).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::rng;
    use geo_types::polygon;

    fn building() -> Building {
        Building {
            bsm: 1,
            bdcdyh: String::new(),
            zddm: "330106001001GB00001".into(),
            zrzh: "330106001001GB00001F0001".into(),
            name: String::new(),
            completed: "20100101".into(),
            footprint_area: 400.0,
            predicted_area: 0.0,
            measured_area: 0.0,
            floors: 0,
            floors_above: 0,
            floors_below: 0,
            planned_use: String::new(),
            structure: String::new(),
            block: 0,
            geometry: polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)],
        }
    }

    #[test]
    fn mixed_use_table_has_basements_shops_flats_and_a_double_floor() {
        let mut b = building();
        let t = featured(Featured::MixedUse, &mut b, "西湖区文三路2号", &mut rng(1, 1)).expect("table");
        assert_eq!((b.floors_above, b.floors_below, b.floors), (12, 2, 14));
        let floors: std::collections::BTreeSet<i32> = t.rows.iter().map(|r| r.myc).collect();
        assert_eq!(floors.iter().copied().collect::<Vec<_>>(), [-2, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert!(t.rows.iter().any(|r| r.sjc == "2-3" && r.fwyt == "商业"));
        assert!(t.rows.iter().any(|r| r.fwyt == "车库") && t.rows.iter().any(|r| r.fwyt == "储藏"));
        // HH are dense and are the last 4 chars of BDCDYH.
        for (i, r) in t.rows.iter().enumerate() {
            assert_eq!(r.hh as usize, i + 1);
            assert_eq!(&r.bdcdyh[24..], format!("{:04}", r.hh));
            assert_eq!(r.bdcdyh.len(), 28);
        }
        let sum: f64 = t.rows.iter().map(|r| r.measured).sum::<f64>()
            + t.apportion.shared.iter().map(|s| s.area.m2()).sum::<f64>();
        assert!((b.measured_area - sum).abs() < 0.006);
    }

    #[test]
    fn csv_has_bom_header_and_one_line_per_household() {
        let mut b = building();
        let t = featured(Featured::WalkUp, &mut b, "西湖区文三路4号", &mut rng(1, 2)).expect("table");
        let csv = t.to_csv();
        assert!(csv.starts_with("\u{feff}ZRZH,LJZH,DYH,MYC,SJC,HH,"));
        assert_eq!(csv.lines().count(), 1 + 24);
        assert!(csv.contains("西湖区文三路4号1幢1单元101室"));
        let json: serde_json::Value = serde_json::from_str(&t.to_json()).expect("json");
        assert_eq!(json["shared"][0]["serves"]["building"], true);
        assert_eq!(json["units"].as_array().map(Vec::len), Some(24));
    }
}
