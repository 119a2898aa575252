//! Property tests of the apportionment invariants.

use cadastre_core::apportion::{
    Apportion, ApportionInput, Apportionment, Area, Method, Serves, SharedInput, UnitInput, ZoneInput,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A random valid building: 1-3 zones, units on floors -2..=5, shared spaces of every scope.
fn building() -> impl Strategy<Value = ApportionInput> {
    let unit = (0usize..3, -2i32..=5, 1i64..50_000);
    let space = (0u8..4, 1i64..100_000, prop::collection::vec(any::<prop::sample::Index>(), 1..4));
    (prop::collection::vec(unit, 1..40), prop::collection::vec(space, 0..8)).prop_map(|(units, spaces)| {
        let zones: Vec<ZoneInput> =
            ["a", "b", "c"].iter().map(|z| ZoneInput { id: z.to_string(), name: String::new() }).collect();
        let units: Vec<UnitInput> = units
            .into_iter()
            .enumerate()
            .map(|(i, (z, f, a))| UnitInput {
                id: format!("{i:04}"),
                zone: zones[z].id.clone(),
                floor: if f == 0 { 1 } else { f },
                inner_area: Area::from_hundredths(a),
                room: None,
            })
            .collect();
        let mut shared = vec![];
        for (i, (kind, area, picks)) in spaces.into_iter().enumerate() {
            // pick scopes that exist, so the input is valid
            let pick = picks[0].get(&units);
            let serves = match kind {
                0 => Serves { building: Some(true), ..Serves::default() },
                1 => Serves { zone: Some(pick.zone.clone()), ..Serves::default() },
                2 => Serves { zone: Some(pick.zone.clone()), floor: Some(pick.floor), ..Serves::default() },
                _ => {
                    let mut ids: Vec<String> = picks.iter().map(|p| p.get(&units).id.clone()).collect();
                    ids.sort();
                    ids.dedup();
                    Serves { units: Some(ids), ..Serves::default() }
                }
            };
            shared.push(SharedInput {
                id: format!("s{i}"),
                name: None,
                area: Area::from_hundredths(area),
                serves,
                shares: None,
            });
        }
        ApportionInput { building: "B".into(), method: Method::Gbt17986, zones, units, shared }
    })
}

/// The zone each unit-list space lies in, if all its units share one.
fn one_zone<'a>(input: &'a ApportionInput, ids: &[String]) -> Option<&'a str> {
    let zone = |id: &String| input.units.iter().find(|u| &u.id == id).map(|u| u.zone.as_str());
    let first = zone(ids.first()?)?;
    ids.iter().all(|id| zone(id) == Some(first)).then_some(first)
}

fn apportion(input: &ApportionInput) -> Apportionment {
    input.apportion().unwrap_or_else(|e| panic!("valid input rejected: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn shares_of_each_shared_space_sum_exactly(input in building()) {
        let r = apportion(&input);
        for s in &r.shared {
            let sum: Area = s.allocations.iter().map(|a| a.area).sum();
            prop_assert_eq!(sum, s.area, "space {}", s.id);
            for a in &s.adjustments {
                prop_assert!(a.area.hundredths().abs() == 1);
            }
        }
        prop_assert_eq!(r.totals.apportioned, r.totals.shared_area);
        let by_unit: Area = r.units.iter().map(|u| u.apportioned).sum();
        prop_assert_eq!(by_unit, r.totals.shared_area);
    }

    #[test]
    fn every_unit_is_at_least_its_inner_area(input in building()) {
        let r = apportion(&input);
        for u in &r.units {
            prop_assert!(u.apportioned >= Area::ZERO, "unit {}", u.id);
            prop_assert!(u.building_area >= u.inner_area);
            prop_assert_eq!(u.building_area, u.inner_area + u.apportioned);
        }
    }

    #[test]
    fn permuting_input_order_changes_nothing(input in building(), seed in any::<u64>()) {
        let r1 = apportion(&input);
        let mut shuffled = input.clone();
        // deterministic shuffle from the seed (reverse + rotate)
        let n = shuffled.units.len();
        shuffled.units.reverse();
        shuffled.units.rotate_left((seed as usize) % n);
        shuffled.shared.reverse();
        shuffled.zones.reverse();
        for s in &mut shuffled.shared {
            if let Some(list) = &mut s.serves.units {
                list.reverse();
            }
        }
        let r2 = apportion(&shuffled);
        prop_assert_eq!(r1, r2);
    }

    /// Scaling every area by an integer k scales each exact share by k. Each rounded share
    /// is within 0.01 of its exact value (strictly), so for every shared space and unit
    /// |share(k·input) − k·share(input)| < (k + 1) hundredths, i.e. ≤ k hundredths; the
    /// coefficients K are identical.
    #[test]
    fn scaling_all_areas_scales_the_result(input in building(), k in 2i64..20) {
        let r1 = apportion(&input);
        let mut scaled = input.clone();
        for u in &mut scaled.units {
            u.inner_area = Area::from_hundredths(u.inner_area.hundredths() * k);
        }
        for s in &mut scaled.shared {
            s.area = Area::from_hundredths(s.area.hundredths() * k);
        }
        let r2 = apportion(&scaled);
        for (a, b) in r1.levels.iter().zip(&r2.levels) {
            prop_assert!((a.k - b.k).abs() <= 1e-12 * a.k.abs().max(1.0), "K {} vs {}", a.k, b.k);
        }
        for (s1, s2) in r1.shared.iter().zip(&r2.shared) {
            let m1: BTreeMap<&str, i64> = s1.allocations.iter().map(|a| (&*a.unit, a.area.hundredths())).collect();
            for a in &s2.allocations {
                let orig = m1.get(&*a.unit).copied().unwrap_or(0);
                prop_assert!((a.area.hundredths() - k * orig).abs() <= k, "space {} unit {}: {} vs {}×{}", s1.id, a.unit, a.area, k, orig);
            }
        }
    }

    /// The weights are DOMAIN.md §5's, recomputed from the input: a zone weighs 套内 plus
    /// every shared space serving only inside it; a floor weighs its 套内. Each level's K is
    /// reproducible from its row: (incoming + own shared) / Σ children's 套内, and what a level
    /// passes down adds up to what it received.
    #[test]
    fn weights_and_k_follow_the_rule(input in building()) {
        let r = apportion(&input);
        let hundredths = |a: Area| a.hundredths() as f64 / 100.0;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        let building_own: f64 = input.shared.iter().filter(|s| s.serves.building == Some(true)).map(|s| hundredths(s.area)).sum();
        let total_weight = hundredths(r.levels[0].participating_area);
        prop_assert!(close(r.levels[0].k, building_own / total_weight));
        let mut zone_incoming = 0.0;
        for z in r.levels.iter().filter(|l| l.zone.is_some() && l.floor.is_none()) {
            let zid = z.zone.as_deref().unwrap_or_default();
            let inner: i64 = input.units.iter().filter(|u| u.zone == zid).map(|u| u.inner_area.hundredths()).sum();
            let inside: i64 = input.shared.iter().filter(|s| match (&s.serves.zone, &s.serves.units) {
                (Some(z), _) => z == zid,
                (None, Some(ids)) => one_zone(&input, ids) == Some(zid),
                _ => false,
            }).map(|s| s.area.hundredths()).sum();
            prop_assert_eq!(z.participating_area.hundredths(), inner + inside, "zone {}", zid);
            prop_assert_eq!(z.inner_area.hundredths(), inner);
            prop_assert!(close(z.incoming, building_own * hundredths(z.participating_area) / total_weight));
            zone_incoming += z.incoming;
            let pool = z.incoming + hundredths(z.own_shared);
            prop_assert!(close(z.k, pool / hundredths(z.inner_area)), "zone {} K", zid);
            let mut floor_incoming = 0.0;
            for f in r.levels.iter().filter(|l| l.zone == z.zone && l.floor.is_some()) {
                prop_assert_eq!(f.participating_area, f.inner_area, "a floor weighs its 套内");
                prop_assert!(close(f.incoming, pool * hundredths(f.inner_area) / hundredths(z.inner_area)));
                prop_assert!(close(f.k, (f.incoming + hundredths(f.own_shared)) / hundredths(f.inner_area)));
                floor_incoming += f.incoming;
            }
            prop_assert!(close(floor_incoming, pool));
        }
        prop_assert!(close(zone_incoming, building_own));
    }

    /// Without unit-list spaces, every household's 分摊 is its floor's K × 套内, within the
    /// rounding of each space it shares in (≤ 0.01 each): the printed K reproduces the table.
    #[test]
    fn each_household_gets_its_floors_k_times_its_inner_area(mut input in building()) {
        input.shared.retain(|s| s.serves.units.is_none());
        let r = apportion(&input);
        for u in &r.units {
            let f = r.levels.iter().find(|l| l.zone.as_deref() == Some(&*u.zone) && l.floor == Some(u.floor));
            let f = f.unwrap_or_else(|| panic!("no floor row for {}", u.id));
            let exact = f.k * u.inner_area.hundredths() as f64;
            let spaces = r.shared.iter().filter(|s| s.allocations.iter().any(|a| a.unit == u.id)).count() as f64;
            prop_assert!((u.apportioned.hundredths() as f64 - exact).abs() <= spaces + 1e-6, "unit {}: {} vs K {} × {}", u.id, u.apportioned, f.k, u.inner_area);
        }
    }
}
