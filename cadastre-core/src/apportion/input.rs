//! The apportionment input (the JSON read by `cadastre apportion`) and its
//! validation into a [`Plan`] with resolved, sorted indices.

use super::{ApportionError, Area};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Largest accepted area, in hundredths (10⁹ m²); with it, sums fit i64 and
/// products that could still overflow i128 are caught as errors.
const MAX_AREA: i64 = 100_000_000_000;

/// How children are weighted when a shared area is split down the tree.
///
/// There is one method, GB/T 17986.1 appendix B as DOMAIN.md §5 states it:
/// zones split the building's shared area by their building area (套内 plus
/// **every** shared space serving only inside the zone, its floors' corridors
/// included, "按各自的建筑面积"); inside a zone, floors split the zone's
/// shared area by their 套内 ("按各层套内建筑面积"); units split by 套内.
///
/// Two earlier readings were removed because no user has a reason to choose
/// them: `standard` left floor corridors out of a zone's weight (it matched a
/// worked example that was wrong), `participating` also added them to the
/// floors' weights (against "按各层套内建筑面积"). An input naming either is an
/// error that says so, rather than silently giving different numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Method {
    /// Zones by building area, floors and units by 套内 (the only method).
    #[default]
    #[serde(rename = "gbt17986")]
    Gbt17986,
}

impl Method {
    /// The name used in the JSON input and output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Gbt17986 => "gbt17986",
        }
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "gbt17986" => Ok(Method::Gbt17986),
            "standard" | "participating" => Err(serde::de::Error::custom(format!(
                "apportionment method \"{name}\" was removed: zones now weigh 套内 plus every shared space \
                 serving only inside them (floor corridors included) and floors weigh 套内 (DOMAIN.md §5); \
                 omit \"method\" or write \"gbt17986\""
            ))),
            _ => Err(serde::de::Error::custom(format!(
                "unknown apportionment method \"{name}\": the only method is \"gbt17986\" (the default)"
            ))),
        }
    }
}

/// The input of one building's apportionment.
///
/// ```
/// use cadastre_core::apportion::ApportionInput;
/// let input: ApportionInput = serde_json::from_str(r#"{
///   "building": "330106001001GB00001F0001",
///   "zones": [{"id": "res", "name": "住宅"}],
///   "units": [{"id": "0101", "zone": "res", "floor": 1, "inner_area": 89.50}],
///   "shared": [{"id": "stair", "area": 13.43, "serves": {"building": true}}]
/// }"#).unwrap();
/// assert_eq!(input.units[0].inner_area.hundredths(), 8950);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApportionInput {
    /// Building code (自然幢号 ZRZH or the building's unit code).
    pub building: String,
    /// Weighting method; [`Method::Gbt17986`], the only one, when absent.
    #[serde(default)]
    pub method: Method,
    /// Functional zones (功能区).
    pub zones: Vec<ZoneInput>,
    /// Households (户) with their inner areas.
    pub units: Vec<UnitInput>,
    /// Shared spaces (共有部位) to apportion.
    #[serde(default)]
    pub shared: Vec<SharedInput>,
}

/// A functional zone (功能区), e.g. 住宅 or 商业.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneInput {
    /// Zone id (the GNQ column of the building table).
    pub id: String,
    /// Display name, e.g. "住宅".
    #[serde(default)]
    pub name: String,
}

/// A household (户).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitInput {
    /// Unit id (户号 HH, 4 digits in the building table).
    pub id: String,
    /// Zone id.
    pub zone: String,
    /// Nominal floor (名义层); basements negative, no 0.
    pub floor: i32,
    /// Inner area 套内建筑面积, m².
    pub inner_area: Area,
    /// Room number 室号部位 (SHBW), shown in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// A shared space (共有部位) and what it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedInput {
    /// Shared space id.
    pub id: String,
    /// Display name, e.g. "电梯井".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Area to apportion, m².
    pub area: Area,
    /// What it serves.
    pub serves: Serves,
    /// Shares agreed between owners (unit id → m²); they replace the formula
    /// for this space and must add up exactly to `area`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<BTreeMap<String, Area>>,
}

/// The scope a shared space serves: exactly one of `building: true`,
/// `zone` (optionally with `floor`), or `units`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serves {
    /// The whole building.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<bool>,
    /// One functional zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// One floor of `zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<i32>,
    /// An explicit list of units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<Vec<String>>,
}

/// A validated zone.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Zone id.
    pub id: Arc<str>,
    /// Display name.
    pub name: Arc<str>,
}

/// A validated unit; `zone` indexes [`Plan::zones`].
#[derive(Debug, Clone)]
pub struct Unit {
    /// Unit id (shared, so results can refer to it without copying).
    pub id: Arc<str>,
    /// Room number, if given.
    pub room: Option<Arc<str>>,
    /// Index into [`Plan::zones`].
    pub zone: usize,
    /// Nominal floor.
    pub floor: i32,
    /// Inner area in hundredths.
    pub inner: i64,
}

/// A validated scope; indices into [`Plan::zones`] / [`Plan::units`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole building.
    Building,
    /// One zone.
    Zone(usize),
    /// One floor of one zone.
    Floor(usize, i32),
    /// A list of units, sorted.
    Units(Vec<usize>),
}

/// A validated shared space.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Shared space id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Area in hundredths.
    pub area: i64,
    /// What it serves.
    pub scope: Scope,
    /// Agreed shares (unit index, hundredths), sorted by unit.
    pub agreed: Option<Vec<(usize, i64)>>,
}

/// A validated input: everything sorted by id, references resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Building code.
    pub building: String,
    /// Weighting method.
    pub method: Method,
    /// Zones sorted by id.
    pub zones: Vec<Zone>,
    /// Units sorted by id.
    pub units: Vec<Unit>,
    /// Shared spaces sorted by id.
    pub shared: Vec<Shared>,
}

impl ApportionInput {
    /// Reads the JSON input format.
    pub fn from_json(text: &str) -> Result<Self, ApportionError> {
        serde_json::from_str(text).map_err(|e| ApportionError::Format(e.to_string()))
    }

    /// Validates the input; errors name the offending ids. Sorting first makes
    /// both the result and the reported error independent of input order.
    pub fn validate(&self) -> Result<Plan, ApportionError> {
        let mut zones: Vec<Zone> = self
            .zones
            .iter()
            .map(|z| Zone { id: Arc::from(z.id.as_str()), name: Arc::from(z.name.as_str()) })
            .collect();
        zones.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = zones.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(ApportionError::DuplicateZone(w[0].id.to_string()));
        }
        let zone_ix = ZoneIndex(&zones);

        let mut raw_units: Vec<&UnitInput> = self.units.iter().collect();
        raw_units.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = raw_units.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(ApportionError::DuplicateUnit(w[0].id.clone()));
        }
        if raw_units.is_empty() {
            return Err(ApportionError::NoUnits { building: self.building.clone() });
        }
        let mut units = Vec::with_capacity(raw_units.len());
        for u in raw_units {
            let zone = zone_ix
                .get(u.zone.as_str())
                .ok_or_else(|| ApportionError::UnknownZoneOfUnit { unit: u.id.clone(), zone: u.zone.clone() })?;
            if u.floor == 0 {
                return Err(ApportionError::FloorZero { what: "unit", id: u.id.clone() });
            }
            if u.inner_area.hundredths() <= 0 {
                return Err(ApportionError::NonPositiveArea { what: "unit", id: u.id.clone(), area: u.inner_area });
            }
            if u.inner_area.hundredths() > MAX_AREA {
                return Err(ApportionError::AreaTooLarge { what: "unit", id: u.id.clone(), area: u.inner_area });
            }
            units.push(Unit {
                id: Arc::from(u.id.as_str()),
                room: u.room.as_deref().map(Arc::from),
                zone,
                floor: u.floor,
                inner: u.inner_area.hundredths(),
            });
        }
        // units are sorted by id, so lookups are binary searches (no hashing)
        let unit_ix = UnitIndex(&units);
        let mut occupied: Vec<(usize, i32)> = units.iter().map(|u| (u.zone, u.floor)).collect();
        occupied.sort_unstable();
        occupied.dedup();

        let mut raw_shared: Vec<&SharedInput> = self.shared.iter().collect();
        raw_shared.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = raw_shared.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(ApportionError::DuplicateShared(w[0].id.clone()));
        }
        let mut shared = Vec::with_capacity(raw_shared.len());
        for s in raw_shared {
            if s.area.hundredths() <= 0 {
                return Err(ApportionError::NonPositiveArea { what: "shared space", id: s.id.clone(), area: s.area });
            }
            if s.area.hundredths() > MAX_AREA {
                return Err(ApportionError::AreaTooLarge { what: "shared space", id: s.id.clone(), area: s.area });
            }
            let scope = resolve_scope(s, &zone_ix, &unit_ix, &units, &occupied)?;
            let agreed = match &s.shares {
                None => None,
                Some(shares) => Some(resolve_agreed(s, shares, &scope, &unit_ix, &units)?),
            };
            shared.push(Shared { id: s.id.clone(), name: s.name.clone(), area: s.area.hundredths(), scope, agreed });
        }
        Ok(Plan { building: self.building.clone(), method: self.method, zones, units, shared })
    }
}

fn resolve_scope(
    s: &SharedInput,
    zone_ix: &ZoneIndex<'_>,
    unit_ix: &UnitIndex<'_>,
    units: &[Unit],
    occupied: &[(usize, i32)],
) -> Result<Scope, ApportionError> {
    let invalid = |reason: &str| ApportionError::InvalidScope { shared: s.id.clone(), reason: reason.to_string() };
    let nothing = |reason: String| ApportionError::ServesNothing { shared: s.id.clone(), reason };
    let sv = &s.serves;
    let named = usize::from(sv.building.is_some()) + usize::from(sv.zone.is_some()) + usize::from(sv.units.is_some());
    if named != 1 {
        return Err(invalid("`serves` must name exactly one of building, zone (with optional floor) or units"));
    }
    if sv.floor.is_some() && sv.zone.is_none() {
        return Err(invalid("`serves.floor` needs `serves.zone`"));
    }
    if sv.building == Some(false) {
        return Err(invalid("`serves.building` must be true"));
    }
    if sv.building == Some(true) {
        return Ok(Scope::Building);
    }
    if let Some(zone) = &sv.zone {
        let z = zone_ix
            .get(zone.as_str())
            .ok_or_else(|| ApportionError::UnknownZoneOfShared { shared: s.id.clone(), zone: zone.clone() })?;
        return match sv.floor {
            None if !occupied.iter().any(|&(uz, _)| uz == z) => Err(nothing(format!("zone {zone:?} has no units"))),
            None => Ok(Scope::Zone(z)),
            Some(0) => Err(ApportionError::FloorZero { what: "shared space", id: s.id.clone() }),
            Some(f) if occupied.binary_search(&(z, f)).is_err() => {
                Err(nothing(format!("floor {f} of zone {zone:?} has no units")))
            }
            Some(f) => Ok(Scope::Floor(z, f)),
        };
    }
    let list = sv.units.as_deref().unwrap_or_default();
    if list.is_empty() {
        return Err(nothing("empty unit list".to_string()));
    }
    let mut ix = Vec::with_capacity(list.len());
    for id in list {
        ix.push(unit_ix.get(id).ok_or_else(|| ApportionError::UnknownUnit { shared: s.id.clone(), unit: id.clone() })?);
    }
    ix.sort_unstable();
    if let Some(w) = ix.windows(2).find(|w| w[0] == w[1]) {
        return Err(ApportionError::RepeatedUnitInScope { shared: s.id.clone(), unit: units[w[0]].id.to_string() });
    }
    Ok(Scope::Units(ix))
}

fn resolve_agreed(
    s: &SharedInput,
    shares: &BTreeMap<String, Area>,
    scope: &Scope,
    unit_ix: &UnitIndex<'_>,
    units: &[Unit],
) -> Result<Vec<(usize, i64)>, ApportionError> {
    let mut out = Vec::with_capacity(shares.len());
    for (id, share) in shares {
        let u =
            unit_ix.get(id).ok_or_else(|| ApportionError::UnknownUnit { shared: s.id.clone(), unit: id.clone() })?;
        let unit = &units[u];
        let inside = match scope {
            Scope::Building => true,
            Scope::Zone(z) => unit.zone == *z,
            Scope::Floor(z, f) => unit.zone == *z && unit.floor == *f,
            Scope::Units(list) => list.binary_search(&u).is_ok(),
        };
        if !inside {
            return Err(ApportionError::AgreedShareOutsideScope { shared: s.id.clone(), unit: id.clone() });
        }
        if share.hundredths() < 0 {
            return Err(ApportionError::NegativeAgreedShare { shared: s.id.clone(), unit: id.clone(), share: *share });
        }
        out.push((u, share.hundredths()));
    }
    let sum: Area = shares.values().copied().sum();
    if sum != s.area {
        return Err(ApportionError::AgreedSharesMismatch { shared: s.id.clone(), sum, area: s.area });
    }
    out.sort_unstable();
    Ok(out)
}

/// Unit lookup by id over units sorted by id.
struct UnitIndex<'a>(&'a [Unit]);

impl UnitIndex<'_> {
    fn get(&self, id: &str) -> Option<usize> {
        self.0.binary_search_by(|u| (*u.id).cmp(id)).ok()
    }
}

/// Zone lookup by id over zones sorted by id (a handful: cheaper than hashing).
struct ZoneIndex<'a>(&'a [Zone]);

impl ZoneIndex<'_> {
    fn get(&self, id: &str) -> Option<usize> {
        self.0.binary_search_by(|z| (*z.id).cmp(id)).ok()
    }
}
