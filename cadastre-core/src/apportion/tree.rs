//! The multi-level apportionment tree (分摊树): building 幢 → zone 功能区 →
//! floor 层 → household 户.
//!
//! Each shared space is split down from the node it serves, exactly (as
//! fractions, no intermediate rounding), so the only rounding is the final
//! one per unit, where [`distribute`] makes the shares add up exactly.

use super::input::{Plan, Scope, Shared};
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
    /// Formula-split shared area serving only this floor.
    own: i64,
    /// Indices into [`Plan::units`].
    units: Vec<usize>,
}

/// What the split needs before any shared space goes down the tree: the
/// floors, and the weight of every node.
struct Weights {
    /// Units of each (zone, floor), in (zone, floor) order.
    floors: BTreeMap<(usize, i32), FloorAgg>,
    /// Σ 套内 of each zone. Floors weigh their 套内, so this is also the
    /// weight of a zone's floors together.
    zone_inner: Vec<i64>,
    /// A zone's weight in the building's split: its building area, 套内 plus
    /// every shared space serving only inside it (zone, floor and one-zone
    /// unit-list spaces, agreed or not).
    zone_weight: Vec<i64>,
    /// Formula-split shared area serving one zone as a whole.
    zone_own: Vec<i64>,
    /// Formula-split shared area serving the whole building.
    building_own: i64,
    /// Σ `zone_weight`.
    total_weight: i64,
}

impl Weights {
    fn of(plan: &Plan) -> Self {
        let nz = plan.zones.len();
        let mut floors: BTreeMap<(usize, i32), FloorAgg> = BTreeMap::new();
        let mut zone_inner = vec![0i64; nz];
        for (i, u) in plan.units.iter().enumerate() {
            let f = floors.entry((u.zone, u.floor)).or_insert(FloorAgg { inner: 0, own: 0, units: Vec::new() });
            f.inner += u.inner;
            f.units.push(i);
            zone_inner[u.zone] += u.inner;
        }
        let mut zone_weight = zone_inner.clone();
        let mut zone_own = vec![0i64; nz];
        let mut building_own = 0i64;
        for s in &plan.shared {
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
                    let zone = plan.units[list[0]].zone;
                    if list.iter().all(|&u| plan.units[u].zone == zone) {
                        zone_weight[zone] += s.area;
                    }
                }
            }
        }
        let total_weight = zone_weight.iter().sum();
        Weights { floors, zone_inner, zone_weight, zone_own, building_own, total_weight }
    }

    /// The floors of zone `z`, bottom up.
    fn floors_of(&self, z: usize) -> impl Iterator<Item = (i32, &FloorAgg)> {
        self.floors.range((z, i32::MIN)..=(z, i32::MAX)).map(|(&(_, fl), f)| (fl, f))
    }
}

/// One shared space on its way down the tree: its exact part at each node,
/// split by the children's weights down to exact per-unit shares.
struct Split<'a> {
    plan: &'a Plan,
    weights: &'a Weights,
    shared: &'a Shared,
    /// The coefficient at each node passed, in order.
    k: Vec<NodeK>,
    /// (unit index, exact share) in the order reached; a buffer reused
    /// across shared spaces (a tower has a corridor per floor).
    shares: &'a mut Vec<(usize, Exact)>,
}

impl Split<'_> {
    /// Agreed shares as given, else the formula from the node the space serves.
    /// Returns the coefficients; the shares are in `self.shares`.
    fn run(mut self) -> Result<Vec<NodeK>, ApportionError> {
        let (plan, w, s) = (self.plan, self.weights, self.shared);
        if let Some(agreed) = &s.agreed {
            self.shares.extend(agreed.iter().map(|&(u, h)| (u, Exact::whole(h))));
            return Ok(self.k);
        }
        match &s.scope {
            Scope::Building => self.building_to_zones()?,
            Scope::Zone(z) => self.zone_to_floors(Exact::whole(s.area), *z)?,
            Scope::Floor(z, fl) => {
                if let Some(f) = w.floors.get(&(*z, *fl)) {
                    self.k.push(NodeK {
                        node: Node::Floor,
                        zone: Some(Arc::clone(&plan.zones[*z].id)),
                        floor: Some(*fl),
                        k: s.area as f64 / f.inner as f64,
                    });
                    self.floor_to_units(Exact::whole(s.area), f)?;
                }
            }
            Scope::Units(list) => {
                let inner: i64 = list.iter().map(|&u| plan.units[u].inner).sum();
                self.k.push(NodeK { node: Node::Units, zone: None, floor: None, k: s.area as f64 / inner as f64 });
                let area = i128::from(s.area);
                for &u in list {
                    let num = area.checked_mul(i128::from(plan.units[u].inner)).ok_or_else(|| self.overflow())?;
                    self.shares.push((u, Exact { num, den: i128::from(inner) }));
                }
            }
        }
        Ok(self.k)
    }

    fn overflow(&self) -> ApportionError {
        ApportionError::Overflow { shared: self.shared.id.clone() }
    }

    /// Splits a space serving the whole building among the zones by their
    /// building area (zones without 套内 get nothing), then each zone's part
    /// to its floors.
    fn building_to_zones(&mut self) -> Result<(), ApportionError> {
        let (w, s) = (self.weights, self.shared);
        self.k.push(NodeK { node: Node::Building, zone: None, floor: None, k: s.area as f64 / w.total_weight as f64 });
        let area = i128::from(s.area);
        for z in 0..self.plan.zones.len() {
            if w.zone_weight[z] == 0 || w.zone_inner[z] == 0 {
                continue;
            }
            let num = area.checked_mul(i128::from(w.zone_weight[z])).ok_or_else(|| self.overflow())?;
            self.zone_to_floors(Exact::reduced(num, i128::from(w.total_weight)), z)?;
        }
        Ok(())
    }

    /// Splits the exact part `p` that reached zone `z` among its floors by
    /// their 套内, then each floor's part to its units.
    fn zone_to_floors(&mut self, p: Exact, z: usize) -> Result<(), ApportionError> {
        let w = self.weights;
        let zone = Arc::clone(&self.plan.zones[z].id);
        let floors_weight = w.zone_inner[z];
        self.k.push(NodeK {
            node: Node::Zone,
            zone: Some(Arc::clone(&zone)),
            floor: None,
            k: p.to_f64() / floors_weight as f64,
        });
        for (fl, f) in w.floors_of(z) {
            let num = p.num.checked_mul(i128::from(f.inner)).ok_or_else(|| self.overflow())?;
            let den = p.den.checked_mul(i128::from(floors_weight)).ok_or_else(|| self.overflow())?;
            let part = Exact::reduced(num, den);
            self.k.push(NodeK {
                node: Node::Floor,
                zone: Some(Arc::clone(&zone)),
                floor: Some(fl),
                k: part.to_f64() / f.inner as f64,
            });
            self.floor_to_units(part, f)?;
        }
        Ok(())
    }

    /// Splits the exact part `p` that reached floor `f` among its units by 套内.
    fn floor_to_units(&mut self, p: Exact, f: &FloorAgg) -> Result<(), ApportionError> {
        let den = p.den.checked_mul(i128::from(f.inner)).ok_or_else(|| self.overflow())?;
        for &u in &f.units {
            let num = p.num.checked_mul(i128::from(self.plan.units[u].inner)).ok_or_else(|| self.overflow())?;
            self.shares.push((u, Exact { num, den }));
        }
        Ok(())
    }
}

impl Apportion for Plan {
    fn apportion(&self) -> Result<Apportionment, ApportionError> {
        let weights = Weights::of(self);
        let mut apportioned = vec![0i64; self.units.len()];
        let mut shared = Vec::with_capacity(self.shared.len());
        // buffers reused across shared spaces (a tower has a corridor per floor)
        let mut shares: Vec<(usize, Exact)> = Vec::new();
        let mut exact: Vec<Exact> = Vec::new();
        for s in &self.shared {
            shares.clear();
            let k = Split { plan: self, weights: &weights, shared: s, k: Vec::new(), shares: &mut shares }.run()?;
            shared.push(self.round(s, k, &mut shares, &mut exact, &mut apportioned));
        }
        let units = self.unit_results(&apportioned);
        let totals = Totals {
            inner_area: units.iter().map(|u| u.inner_area).sum(),
            shared_area: Area::from_hundredths(self.shared.iter().map(|s| s.area).sum()),
            apportioned: units.iter().map(|u| u.apportioned).sum(),
            building_area: units.iter().map(|u| u.building_area).sum(),
        };
        Ok(Apportionment {
            building: self.building.clone(),
            method: self.method,
            levels: self.level_rows(&weights),
            units,
            shared,
            totals,
        })
    }
}

impl Plan {
    /// Rounds one space's exact shares to hundredths that add up exactly to
    /// its area, adds them to the units' apportioned areas, and reports them.
    fn round(
        &self,
        s: &Shared,
        k: Vec<NodeK>,
        shares: &mut [(usize, Exact)],
        exact: &mut Vec<Exact>,
        apportioned: &mut [i64],
    ) -> SharedResult {
        shares.sort_unstable_by_key(|(u, _)| *u);
        exact.clear();
        exact.extend(shares.iter().map(|(_, e)| *e));
        let rounded = distribute(s.area, exact, |i| &*self.units[shares[i].0].id);
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
        SharedResult {
            id: s.id.clone(),
            name: s.name.clone(),
            area: Area::from_hundredths(s.area),
            serves: self.describe(&s.scope),
            by_agreement: s.agreed.is_some(),
            k,
            allocations,
            adjustments,
        }
    }

    /// The building, zone and floor rows of the report: the pool reaching
    /// each node and its coefficient (exact up to f64 display).
    fn level_rows(&self, w: &Weights) -> Vec<LevelRow> {
        let mut levels = vec![LevelRow {
            level: Level::Building,
            zone: None,
            zone_name: None,
            floor: None,
            inner_area: Area::from_hundredths(w.zone_inner.iter().sum()),
            participating_area: Area::from_hundredths(w.total_weight),
            incoming: 0.0,
            own_shared: Area::from_hundredths(w.building_own),
            k: w.building_own as f64 / w.total_weight as f64,
        }];
        for (z, zone) in self.zones.iter().enumerate() {
            if w.zone_inner[z] == 0 {
                continue;
            }
            let incoming = w.building_own as f64 * w.zone_weight[z] as f64 / w.total_weight as f64 / 100.0;
            let pool = incoming + w.zone_own[z] as f64 / 100.0;
            levels.push(LevelRow {
                level: Level::Zone,
                zone: Some(Arc::clone(&zone.id)),
                zone_name: Some(Arc::clone(&zone.name)),
                floor: None,
                inner_area: Area::from_hundredths(w.zone_inner[z]),
                participating_area: Area::from_hundredths(w.zone_weight[z]),
                incoming,
                own_shared: Area::from_hundredths(w.zone_own[z]),
                k: pool * 100.0 / w.zone_inner[z] as f64,
            });
            for (fl, f) in w.floors_of(z) {
                let incoming = pool * f.inner as f64 / w.zone_inner[z] as f64;
                levels.push(LevelRow {
                    level: Level::Floor,
                    zone: Some(Arc::clone(&zone.id)),
                    zone_name: Some(Arc::clone(&zone.name)),
                    floor: Some(fl),
                    inner_area: Area::from_hundredths(f.inner),
                    participating_area: Area::from_hundredths(f.inner),
                    incoming,
                    own_shared: Area::from_hundredths(f.own),
                    k: (incoming * 100.0 + f.own as f64) / f.inner as f64,
                });
            }
        }
        levels
    }

    /// Each unit's 套内, apportioned share and building area.
    fn unit_results(&self, apportioned: &[i64]) -> Vec<UnitResult> {
        self.units
            .iter()
            .zip(apportioned)
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
            .collect()
    }

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
