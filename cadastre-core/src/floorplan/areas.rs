//! Validation and areas of a floor plan: 套内建筑面积 per household with its
//! wall and balcony parts, shared spaces, and the outer half of the outer walls.

use super::geometry::{grown_area, noded_ccw, offset_ccw, outline_problem, overlap_area, polygon, signed_area, union};
use super::model::{dist, FloorPlan, FloorPlanError, FloorPlanFloor, LocalPoint, Outline, SharedKind};
use geo::{BoundingRect, Contains};
use geo_types::Point;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What lies on the other side of a household's wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WallKind {
    /// 分户墙: another household; half is this household's.
    Party,
    /// A shared space; half is this household's, half shared area.
    Shared,
    /// 外墙 (also behind a balcony); half is this household's, half shared area.
    Outer,
}

/// One straight wall of a household, on its centre line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WallSegment {
    /// Start (local metres), counter-clockwise around the household.
    pub from: LocalPoint,
    /// End.
    pub to: LocalPoint,
    /// Length on the centre line, m.
    pub length: f64,
    /// What is behind it.
    pub kind: WallKind,
    /// The neighbour's HH (party walls) or shared-space id (shared walls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbour: Option<String>,
}

/// Areas of one household, m² unrounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdAreas {
    /// HH.
    #[serde(rename = "HH")]
    pub hh: String,
    /// Room number.
    #[serde(rename = "SHBW")]
    pub room: String,
    /// 套内建筑面积 = outline (centre lines) + counted balconies.
    pub inner_area: f64,
    /// 套内使用面积: the outline less half of each surrounding wall.
    pub usable_area: f64,
    /// 套内墙体面积: half of each surrounding wall (internal walls included).
    pub wall_area: f64,
    /// 阳台建筑面积: enclosed balconies full, open ones half.
    pub balcony_area: f64,
    /// The walls around the household.
    pub walls: Vec<WallSegment>,
}

/// Area of one shared space, m² unrounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedAreas {
    /// Id on its floor.
    pub id: String,
    /// Kind.
    pub kind: SharedKind,
    /// Display name.
    pub name: String,
    /// Area on wall centre lines.
    pub area: f64,
}

/// Areas of one floor, m² unrounded. `building_area` = Σ households' inner
/// areas + Σ shared spaces + `outer_wall_half`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorAreas {
    /// 名义层.
    pub floor: i32,
    /// Per household, in plan order.
    pub households: Vec<HouseholdAreas>,
    /// Per shared space, in plan order.
    pub shared: Vec<SharedAreas>,
    /// The outer half of the outer walls (shared area).
    pub outer_wall_half: f64,
    /// 层建筑面积.
    pub building_area: f64,
}

fn label_household(hh: &str) -> String {
    format!("household {hh}")
}

impl FloorPlan {
    /// Checks the plan: floors, unique households and shared ids, usable
    /// outlines, nothing overlapping on a floor, sane wall thicknesses.
    pub fn validate(&self) -> Result<(), FloorPlanError> {
        for w in [self.walls.outer, self.walls.party, self.walls.shared] {
            if !w.is_finite() || w < 0.0 {
                return Err(FloorPlanError::BadWall(w));
            }
        }
        let mut floors = BTreeSet::new();
        let mut hhs = BTreeSet::new();
        for f in &self.floors {
            if f.floor == 0 {
                return Err(FloorPlanError::FloorZero);
            }
            if !floors.insert((f.ljzh.as_str(), f.floor)) {
                return Err(FloorPlanError::DuplicateFloor(f.floor));
            }
            for h in &f.households {
                if !hhs.insert(h.hh.as_str()) {
                    return Err(FloorPlanError::DuplicateHousehold(h.hh.clone()));
                }
            }
            let mut ids = BTreeSet::new();
            for s in &f.shared {
                if !ids.insert(s.id.as_str()) {
                    return Err(FloorPlanError::DuplicateShared { floor: f.floor, id: s.id.clone() });
                }
            }
            validate_floor(f)?;
        }
        Ok(())
    }

    /// Areas of one floor (the first logical building's with that number).
    pub fn floor_areas(&self, floor: i32) -> Result<FloorAreas, FloorPlanError> {
        let f = self.floor(floor).ok_or(FloorPlanError::UnknownFloor(floor))?;
        Ok(floor_areas(f, self))
    }

    /// Areas of floor `floor` of logical building `ljzh`.
    pub fn floor_areas_in(&self, ljzh: &str, floor: i32) -> Result<FloorAreas, FloorPlanError> {
        let f = self.floor_in(ljzh, floor).ok_or(FloorPlanError::UnknownFloor(floor))?;
        Ok(floor_areas(f, self))
    }

    /// Areas of every floor, lowest floor first (then by logical building).
    pub fn all_areas(&self) -> Vec<FloorAreas> {
        self.sorted_floors().into_iter().map(|f| floor_areas(f, self)).collect()
    }

    /// The floors, lowest first, then by logical building.
    pub(super) fn sorted_floors(&self) -> Vec<&FloorPlanFloor> {
        let mut floors: Vec<&FloorPlanFloor> = self.floors.iter().collect();
        floors.sort_by(|a, b| (a.floor, &a.ljzh).cmp(&(b.floor, &b.ljzh)));
        floors
    }
}

/// Every outline of a floor with a label, for validation.
fn labelled(f: &FloorPlanFloor) -> Vec<(String, &Outline)> {
    let mut out = Vec::new();
    for h in &f.households {
        out.push((label_household(&h.hh), &h.outline));
        for (i, b) in h.balconies.iter().enumerate() {
            out.push((format!("balcony {} of household {}", i + 1, h.hh), &b.outline));
        }
    }
    for s in &f.shared {
        out.push((format!("shared {}", s.id), &s.outline));
    }
    out
}

fn validate_floor(f: &FloorPlanFloor) -> Result<(), FloorPlanError> {
    let items = labelled(f);
    for (what, o) in &items {
        if let Some(reason) = outline_problem(o) {
            return Err(FloorPlanError::BadOutline { floor: f.floor, what: what.clone(), reason });
        }
    }
    let boxes: Vec<_> = items.iter().map(|(_, o)| polygon(o).bounding_rect()).collect();
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            let (Some(a), Some(b)) = (boxes[i], boxes[j]) else { continue };
            // Touching boxes share an edge; only a box overlap with area can hide a polygon overlap.
            let w = a.max().x.min(b.max().x) - a.min().x.max(b.min().x);
            let h = a.max().y.min(b.max().y) - a.min().y.max(b.min().y);
            if w <= 1e-6 || h <= 1e-6 {
                continue;
            }
            let area = overlap_area(items[i].1, items[j].1);
            if area > 0.01 {
                return Err(FloorPlanError::Overlap {
                    floor: f.floor,
                    a: items[i].0.clone(),
                    b: items[j].0.clone(),
                    area,
                });
            }
        }
    }
    Ok(())
}

/// What is on the other side of an edge: probes 5 cm outside its middle.
fn classify(f: &FloorPlanFloor, own: usize, a: LocalPoint, b: LocalPoint) -> (WallKind, Option<String>) {
    let len = dist(a, b);
    let (ux, uy) = ((b[0] - a[0]) / len, (b[1] - a[1]) / len);
    // counter-clockwise ring: the outside is on the right, normal (uy, -ux)
    let probe = Point::new((a[0] + b[0]) / 2.0 + uy * 0.05, (a[1] + b[1]) / 2.0 - ux * 0.05);
    for (i, h) in f.households.iter().enumerate() {
        if i != own && polygon(&h.outline).contains(&probe) {
            return (WallKind::Party, Some(h.hh.clone()));
        }
    }
    for s in &f.shared {
        if polygon(&s.outline).contains(&probe) {
            return (WallKind::Shared, Some(s.id.clone()));
        }
    }
    (WallKind::Outer, None)
}

pub(super) fn floor_areas(f: &FloorPlanFloor, plan: &FloorPlan) -> FloorAreas {
    let walls = plan.walls;
    let all: Vec<&Outline> =
        f.households.iter().map(|h| &h.outline).chain(f.shared.iter().map(|s| &s.outline)).collect();
    let households: Vec<HouseholdAreas> = f
        .households
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let others: Vec<&Outline> = all.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, o)| *o).collect();
            let ring = noded_ccw(&h.outline, &others);
            let n = ring.len();
            let segments: Vec<WallSegment> = (0..n)
                .map(|k| {
                    let (a, b) = (ring[k], ring[(k + 1) % n]);
                    let (kind, neighbour) = classify(f, i, a, b);
                    WallSegment { from: a, to: b, length: dist(a, b), kind, neighbour }
                })
                .collect();
            let half: Vec<f64> = segments
                .iter()
                .map(|s| match s.kind {
                    WallKind::Party => walls.party,
                    WallKind::Shared => walls.shared,
                    WallKind::Outer => walls.outer,
                } / 2.0)
                .collect();
            let centre = signed_area(&ring);
            let usable = signed_area(&offset_ccw(&ring, &half));
            let balcony_area: f64 = h.balconies.iter().map(|b| b.counted_area()).sum();
            HouseholdAreas {
                hh: h.hh.clone(),
                room: h.room.clone(),
                inner_area: centre + balcony_area,
                usable_area: usable,
                wall_area: centre - usable,
                balcony_area,
                walls: segments,
            }
        })
        .collect();
    let shared: Vec<SharedAreas> = f
        .shared
        .iter()
        .map(|s| SharedAreas {
            id: s.id.clone(),
            kind: s.kind,
            name: if s.name.is_empty() { s.kind.label().to_string() } else { s.name.clone() },
            area: s.outline.area(),
        })
        .collect();
    let outer_wall_half = if all.is_empty() {
        0.0
    } else {
        let u = union(&all);
        let centre: f64 = all.iter().map(|o| o.area()).sum();
        grown_area(&u, walls.outer / 2.0) - centre
    };
    let building_area = households.iter().map(|h| h.inner_area).sum::<f64>()
        + shared.iter().map(|s| s.area).sum::<f64>()
        + outer_wall_half;
    FloorAreas { floor: f.floor, households, shared, outer_wall_half, building_area }
}
