//! The multi-level apportionment tree (分摊树): building 幢 → zone 功能区 →
//! floor 层 → household 户.
//!
//! Each shared space is split down from the node it serves, exactly (as
//! fractions, no intermediate rounding), so the only rounding is the final
//! one per unit, where [`distribute`] makes the shares add up exactly.

use super::input::{Plan, Scope};
use super::report::{Allocation, Apportionment, Level, LevelRow, Node, NodeK, SharedResult, Totals, UnitResult};
use super::residual::{distribute, Exact};
use super::{ApportionError, ApportionInput, Area};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Apportions shared area among a building's units.
pub trait Apportion {
    /// Runs the apportionment.
    fn apportion(&self) -> Result<Apportionment, ApportionError>;
}

impl Apportion for ApportionInput {
    /// Validates, then apportions.
    ///
    /// The DOMAIN.md worked example: Σ套内 4000.00 m², shared 600.00 m², K = 0.15;
    /// the 89.50 m² flat gets 13.43 m² → 102.93 m².
    /// ```
    /// use cadastre_core::apportion::{Apportion, ApportionInput};
    /// let input = ApportionInput::from_json(r#"{"building": "B1",
    ///   "zones": [{"id": "res", "name": "住宅"}],
    ///   "units": [{"id": "0101", "zone": "res", "floor": 1, "inner_area": 89.50},
    ///             {"id": "0102", "zone": "res", "floor": 1, "inner_area": 100.08},
    ///             {"id": "0103", "zone": "res", "floor": 2, "inner_area": 3810.42}],
    ///   "shared": [{"id": "core", "area": 600.00, "serves": {"building": true}}]}"#).unwrap();
    /// let r = input.apportion().unwrap();
    /// assert_eq!(r.units[0].apportioned.to_string(), "13.43");
    /// assert_eq!(r.units[0].building_area.to_string(), "102.93");
    /// assert!((r.levels[0].k - 0.15).abs() < 1e-12);
    /// ```
    fn apportion(&self) -> Result<Apportionment, ApportionError> {
        self.validate()?.apportion()
    }
}

/// Units of one (zone, floor).
struct FloorAgg {
    /// Σ 套内, also the floor's weight in its zone's split.
    inner: i64,
    own: i64,
    units: Vec<usize>,
}

impl Apportion for Plan {
    fn apportion(&self) -> Result<Apportionment, ApportionError> {
        let nz = self.zones.len();
        let mut floors: BTreeMap<(usize, i32), FloorAgg> = BTreeMap::new();
        let mut zone_inner = vec![0i64; nz];
        for (i, u) in self.units.iter().enumerate() {
            let f = floors.entry((u.zone, u.floor)).or_insert(FloorAgg { inner: 0, own: 0, units: Vec::new() });
            f.inner += u.inner;
            f.units.push(i);
            zone_inner[u.zone] += u.inner;
        }
        // A zone weighs its building area: 套内 plus every shared space serving
        // only inside it (zone, floor and one-zone unit-list spaces, agreed or not).
        let mut zone_weight = zone_inner.clone();
        let mut zone_own = vec![0i64; nz];
        let mut building_own = 0i64;
        for s in &self.shared {
            let formula = s.agreed.is_none();
            match &s.scope {
                Scope::Building => building_own += if formula { s.area } else { 0 },
                Scope::Zone(z) => {
                    zone_weight[*z] += s.area;
                    zone_own[*z] += if formula { s.area } else { 0 };
                }
                Scope::Floor(z, fl) => {
                    zone_weight[*z] += s.area;
                    if let Some(f) = floors.get_mut(&(*z, *fl)) {
                        f.own += if formula { s.area } else { 0 };
                    }
                }
                Scope::Units(list) => {
                    let zone = self.units[list[0]].zone;
                    if list.iter().all(|&u| self.units[u].zone == zone) {
                        zone_weight[zone] += s.area;
                    }
                }
            }
        }
        let total_weight: i64 = zone_weight.iter().sum();
        // Floors weigh their 套内, so a zone's floors weigh its 套内.
        let zone_floor_weight = &zone_inner;

        let mut apportioned = vec![0i64; self.units.len()];
        let mut shared_results = Vec::with_capacity(self.shared.len());
        // buffers reused across shared spaces (a tower has a corridor per floor)
        let mut shares: Vec<(usize, Exact)> = Vec::new();
        let mut exact: Vec<Exact> = Vec::new();
        for s in &self.shared {
            let overflow = || ApportionError::Overflow { shared: s.id.clone() };
            let mut k = Vec::new();
            shares.clear();
            // Splits the exact part `p` (hundredths) that reached floor `key` among its units by inner area.
            let to_units = |p: Exact, f: &FloorAgg, shares: &mut Vec<(usize, Exact)>| -> Result<(), ApportionError> {
                let den = p.den.checked_mul(i128::from(f.inner)).ok_or_else(overflow)?;
                for &u in &f.units {
                    let num = p.num.checked_mul(i128::from(self.units[u].inner)).ok_or_else(overflow)?;
                    shares.push((u, Exact { num, den }));
                }
                Ok(())
            };
            // Splits the exact part `p` that reached zone `z` among its floors.
            let to_floors = |p: Exact,
                             z: usize,
                             k: &mut Vec<NodeK>,
                             shares: &mut Vec<(usize, Exact)>|
             -> Result<(), ApportionError> {
                k.push(NodeK {
                    node: Node::Zone,
                    zone: Some(Arc::clone(&self.zones[z].id)),
                    floor: None,
                    k: p.to_f64() / zone_floor_weight[z] as f64,
                });
                for ((_, fl), f) in floors.range((z, i32::MIN)..=(z, i32::MAX)) {
                    let num = p.num.checked_mul(i128::from(f.inner)).ok_or_else(overflow)?;
                    let den = p.den.checked_mul(i128::from(zone_floor_weight[z])).ok_or_else(overflow)?;
                    let part = Exact::reduced(num, den);
                    k.push(NodeK {
                        node: Node::Floor,
                        zone: Some(Arc::clone(&self.zones[z].id)),
                        floor: Some(*fl),
                        k: part.to_f64() / f.inner as f64,
                    });
                    to_units(part, f, shares)?;
                }
                Ok(())
            };
            let area = i128::from(s.area);
            if let Some(agreed) = &s.agreed {
                shares.extend(agreed.iter().map(|&(u, h)| (u, Exact::whole(h))));
            } else {
                match &s.scope {
                    Scope::Building => {
                        k.push(NodeK {
                            node: Node::Building,
                            zone: None,
                            floor: None,
                            k: s.area as f64 / total_weight as f64,
                        });
                        for z in 0..nz {
                            if zone_weight[z] == 0 || zone_inner[z] == 0 {
                                continue;
                            }
                            let num = area.checked_mul(i128::from(zone_weight[z])).ok_or_else(overflow)?;
                            to_floors(Exact::reduced(num, i128::from(total_weight)), z, &mut k, &mut shares)?;
                        }
                    }
                    Scope::Zone(z) => to_floors(Exact::whole(s.area), *z, &mut k, &mut shares)?,
                    Scope::Floor(z, fl) => {
                        if let Some(f) = floors.get(&(*z, *fl)) {
                            k.push(NodeK {
                                node: Node::Floor,
                                zone: Some(Arc::clone(&self.zones[*z].id)),
                                floor: Some(*fl),
                                k: s.area as f64 / f.inner as f64,
                            });
                            to_units(Exact::whole(s.area), f, &mut shares)?;
                        }
                    }
                    Scope::Units(list) => {
                        let inner: i64 = list.iter().map(|&u| self.units[u].inner).sum();
                        k.push(NodeK { node: Node::Units, zone: None, floor: None, k: s.area as f64 / inner as f64 });
                        for &u in list {
                            let num = area.checked_mul(i128::from(self.units[u].inner)).ok_or_else(overflow)?;
                            shares.push((u, Exact { num, den: i128::from(inner) }));
                        }
                    }
                }
            }
            shares.sort_unstable_by_key(|(u, _)| *u);
            exact.clear();
            exact.extend(shares.iter().map(|(_, e)| *e));
            let rounded = distribute(s.area, &exact, |i| &*self.units[shares[i].0].id);
            let mut allocations = Vec::with_capacity(shares.len());
            // shares are in unit order = id order, so allocations come out sorted
            for ((u, _), v) in shares.iter().zip(&rounded.values) {
                apportioned[*u] += v;
                allocations.push(Allocation { unit: Arc::clone(&self.units[*u].id), area: Area::from_hundredths(*v) });
            }
            let adjustments: Vec<Allocation> = rounded
                .adjustments
                .iter()
                .map(|a| Allocation {
                    unit: Arc::clone(&self.units[shares[a.index].0].id),
                    area: Area::from_hundredths(a.delta),
                })
                .collect();
            shared_results.push(SharedResult {
                id: s.id.clone(),
                name: s.name.clone(),
                area: Area::from_hundredths(s.area),
                serves: self.describe(&s.scope),
                by_agreement: s.agreed.is_some(),
                k,
                allocations,
                adjustments,
            });
        }

        // Level rows: pools are exact up to f64 display.
        let mut levels = vec![LevelRow {
            level: Level::Building,
            zone: None,
            zone_name: None,
            floor: None,
            inner_area: Area::from_hundredths(zone_inner.iter().sum()),
            participating_area: Area::from_hundredths(total_weight),
            incoming: 0.0,
            own_shared: Area::from_hundredths(building_own),
            k: building_own as f64 / total_weight as f64,
        }];
        for z in 0..nz {
            if zone_inner[z] == 0 {
                continue;
            }
            let incoming = building_own as f64 * zone_weight[z] as f64 / total_weight as f64 / 100.0;
            let pool = incoming + zone_own[z] as f64 / 100.0;
            let zone = &self.zones[z];
            levels.push(LevelRow {
                level: Level::Zone,
                zone: Some(Arc::clone(&zone.id)),
                zone_name: Some(Arc::clone(&zone.name)),
                floor: None,
                inner_area: Area::from_hundredths(zone_inner[z]),
                participating_area: Area::from_hundredths(zone_weight[z]),
                incoming,
                own_shared: Area::from_hundredths(zone_own[z]),
                k: pool * 100.0 / zone_floor_weight[z] as f64,
            });
            for ((_, fl), f) in floors.range((z, i32::MIN)..=(z, i32::MAX)) {
                let incoming = pool * f.inner as f64 / zone_floor_weight[z] as f64;
                levels.push(LevelRow {
                    level: Level::Floor,
                    zone: Some(Arc::clone(&zone.id)),
                    zone_name: Some(Arc::clone(&zone.name)),
                    floor: Some(*fl),
                    inner_area: Area::from_hundredths(f.inner),
                    participating_area: Area::from_hundredths(f.inner),
                    incoming,
                    own_shared: Area::from_hundredths(f.own),
                    k: (incoming * 100.0 + f.own as f64) / f.inner as f64,
                });
            }
        }

        let units: Vec<UnitResult> = self
            .units
            .iter()
            .zip(&apportioned)
            .map(|(u, &a)| UnitResult {
                id: Arc::clone(&u.id),
                room: u.room.clone(),
                zone: Arc::clone(&self.zones[u.zone].id),
                floor: u.floor,
                inner_area: Area::from_hundredths(u.inner),
                apportioned: Area::from_hundredths(a),
                building_area: Area::from_hundredths(u.inner + a),
                coefficient: a as f64 / u.inner as f64,
            })
            .collect();
        let totals = Totals {
            inner_area: units.iter().map(|u| u.inner_area).sum(),
            shared_area: Area::from_hundredths(self.shared.iter().map(|s| s.area).sum()),
            apportioned: units.iter().map(|u| u.apportioned).sum(),
            building_area: units.iter().map(|u| u.building_area).sum(),
        };
        Ok(Apportionment {
            building: self.building.clone(),
            method: self.method,
            levels,
            units,
            shared: shared_results,
            totals,
        })
    }
}

impl Plan {
    fn describe(&self, scope: &Scope) -> String {
        match scope {
            Scope::Building => "building".to_string(),
            Scope::Zone(z) => format!("zone {}", self.zones[*z].id),
            Scope::Floor(z, f) => format!("zone {} floor {f}", self.zones[*z].id),
            Scope::Units(list) => {
                let ids: Vec<&str> = list.iter().map(|&u| &*self.units[u].id).collect();
                format!("units {}", ids.join(","))
            }
        }
    }
}
