//! Defect kinds (the quality-check rule ids of issue #3) and how each one is
//! injected into a freshly drawn block.
//!
//! Each injection changes one block only and records the objects it touched,
//! a location, and the other rules the change truly sets off (`also`).

use geo_types::Coord;
use rand::Rng;

use crate::layout::Rect;
pub use crate::rule::Rule;
use crate::shape::{c, mm, BlockShape, BuildingShape, ParcelShape, Side};

/// How a defect changes the codes of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeAction {
    None,
    /// Write a malformed ZDDM for the parcel (variant 0..3).
    Malformed {
        parcel: usize,
        variant: u32,
    },
    /// Give `target` the code of `source` (it consumes no sequence number).
    Duplicate {
        source: usize,
        target: usize,
    },
    /// Give the parcel a code from a neighbouring sub-district's sequence.
    Foreign {
        parcel: usize,
    },
}

/// How a defect changes attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrAction {
    None,
    /// Record ZDMJ far outside the tolerance (sign +1 or -1).
    Area {
        parcel: usize,
        sign: i8,
    },
    /// Empty ZL.
    MissingAddress {
        parcel: usize,
    },
    /// Empty YT.
    MissingUse {
        parcel: usize,
    },
}

/// What an injection did, in block-local indices.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Injection {
    pub rule: Rule,
    pub parcels: Vec<usize>,
    pub buildings: Vec<usize>,
    pub location: Coord<f64>,
    pub also: Vec<Rule>,
    /// `{0}`, `{1}`… stand for the object codes, filled in once codes exist.
    pub detail: String,
    pub code: CodeAction,
    pub attr: AttrAction,
}

impl Injection {
    fn new(rule: Rule, parcels: Vec<usize>, location: Coord<f64>, also: &[Rule], detail: String) -> Self {
        Self {
            rule,
            parcels,
            buildings: Vec::new(),
            location,
            also: also.to_vec(),
            detail,
            code: CodeAction::None,
            attr: AttrAction::None,
        }
    }
}

fn of_side(shape: &BlockShape, side: Side) -> Vec<usize> {
    shape.parcels.iter().enumerate().filter(|(_, p)| p.side == side).map(|(i, _)| i).collect()
}

fn pick<R: Rng, T: Copy>(v: &[T], rng: &mut R) -> T {
    v[rng.gen_range(0..v.len())]
}

fn strip_buildings(shape: &mut BlockShape, parcel: usize) {
    shape.buildings.retain(|b| b.parcel != parcel);
}

fn midpoint(a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
    Coord { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 }
}

/// The parcels on each side of a block's middle line, and where the block lies: what the
/// injections choose their parcels from.
struct Sides {
    south: Vec<usize>,
    north: Vec<usize>,
    both: Vec<usize>,
    rect: Rect,
    north_street: f64,
}

impl Sides {
    fn of(shape: &BlockShape, north_street: f64) -> Self {
        let south = of_side(shape, Side::South);
        let north = of_side(shape, Side::North);
        let both = south.iter().chain(&north).copied().collect();
        Self { south, north, both, rect: shape.rect, north_street }
    }
}

/// Injects `rule` into a block drawn with one parcel fewer for `parcel.tiny`.
/// `north_street` is the width of the street north of the block.
pub(crate) fn inject<R: Rng>(rule: Rule, shape: &mut BlockShape, north_street: f64, rng: &mut R) -> Injection {
    let sides = Sides::of(shape, north_street);
    match rule {
        Rule::Overlap => overlap(shape, &sides, rng),
        Rule::Gap => gap(shape, rng),
        Rule::SelfIntersection => self_intersection(shape, &sides, rng),
        Rule::DuplicateVertex => duplicate_vertex(shape, &sides, rng),
        Rule::Spike => spike(shape, &sides, rng),
        Rule::NearMiss => near_miss(shape, rng),
        Rule::Tiny => tiny(shape, &sides, rng),
        Rule::OutsideSubdistrict => outside_subdistrict(shape, &sides, rng),
        Rule::CodeFormat | Rule::CodeConsistency => wrong_code(rule, shape, &sides, rng),
        Rule::CodeDuplicate => duplicate_code(shape, &sides, rng),
        Rule::AreaTolerance => wrong_area(shape, &sides, rng),
        Rule::BuildingOutsideParcel => building_outside(shape, &sides, rng),
        Rule::BuildingOverlap => building_overlap(shape, &sides),
        Rule::AttributeMissing => missing_attribute(shape, &sides, rng),
        Rule::GeometryInvalid | Rule::Sliver | Rule::AttributeDomain => {
            // Not injectable; the planner never asks for these.
            Injection::new(rule, Vec::new(), c(sides.rect.x0, sides.rect.y0), &[], String::new())
        }
    }
}

/// A vertex pushed 1.5–2.5 mm into the south neighbour: two parcels overlap.
fn overlap<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let i = rng.gen_range(0..sides.south.len() - 1);
    let (a, b) = (sides.south[i], sides.south[i + 1]);
    let ring = &mut shape.parcels[a].exterior;
    let br_pos = ring.len() - 2;
    let d = mm(rng.gen_range(1.5..2.5));
    let m = midpoint(ring[br_pos - 1], ring[br_pos]);
    let p = c(m.x + d, m.y);
    ring.insert(br_pos, p);
    Injection::new(
        Rule::Overlap,
        vec![a, b],
        p,
        &[],
        format!("vertex inserted on the edge of {{0}} shared with {{1}}, {d:.2} m into {{1}}"),
    )
}

/// A shared edge of the middle line pulled back 1.5–2.5 mm: an enclosed triangular gap.
fn gap<R: Rng>(shape: &mut BlockShape, rng: &mut R) -> Injection {
    let last = shape.mid.len() - 1;
    let k = (1..last - 1).max_by(|&x, &y| seg_len(shape, x).total_cmp(&seg_len(shape, y))).unwrap_or(1);
    let s = owner(shape, Side::South, k);
    let n = owner(shape, Side::North, k);
    let (a, _) = shape.parcels[s].mid.unwrap_or((0, 0));
    let d = mm(rng.gen_range(1.5..2.5));
    let m = midpoint(shape.mid[k], shape.mid[k + 1]);
    let q = c(m.x, m.y - d);
    shape.parcels[s].exterior.insert(k - a + 1, q);
    let loc = Coord {
        x: (shape.mid[k].x + shape.mid[k + 1].x + q.x) / 3.0,
        y: (shape.mid[k].y + shape.mid[k + 1].y + q.y) / 3.0,
    };
    Injection::new(
        Rule::Gap,
        vec![s, n],
        loc,
        &[],
        format!("edge of {{0}} shared with {{1}} pulled {d:.2} m back, leaving an enclosed triangular gap"),
    )
}

/// Two street corners of a south parcel swapped: a bow-tie ring (its buildings go).
fn self_intersection<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let s = pick(&sides.south, rng);
    strip_buildings(shape, s);
    let ring = &mut shape.parcels[s].exterior;
    let n = ring.len();
    ring.swap(n - 2, n - 1);
    let loc = crossing(ring[n - 3], ring[n - 2], ring[n - 1], ring[0]);
    Injection::new(
        Rule::SelfIntersection,
        vec![s],
        loc,
        &[Rule::GeometryInvalid, Rule::Gap, Rule::AreaTolerance],
        "street corners of {0} swapped: the ring crosses itself (bow-tie); its buildings were left out".to_string(),
    )
}

/// A vertex of a parcel repeated.
fn duplicate_vertex<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let p = pick(&sides.both, rng);
    let ring = &mut shape.parcels[p].exterior;
    let v = rng.gen_range(0..ring.len());
    let at = ring[v];
    ring.insert(v + 1, at);
    Injection::new(
        Rule::DuplicateVertex,
        vec![p],
        at,
        &[Rule::GeometryInvalid],
        format!("vertex {} of {{0}} repeated", v + 1),
    )
}

/// A 3 m spike, 2 cm wide, on the street edge of a south parcel.
fn spike<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let s = pick(&sides.south, rng);
    let ring = &mut shape.parcels[s].exterior;
    let n = ring.len();
    let mx = mm((ring[n - 2].x + ring[n - 1].x) / 2.0);
    let y0 = sides.rect.y0;
    let tip = c(mx, y0 - 3.0);
    for (k, q) in [c(mx + 0.01, y0), tip, c(mx - 0.01, y0)].into_iter().enumerate() {
        ring.insert(n - 1 + k, q);
    }
    Injection::new(
        Rule::Spike,
        vec![s],
        tip,
        &[Rule::NearMiss],
        "3 m spike, 2 cm wide, on the street edge of {0}".to_string(),
    )
}

/// A shared middle-line vertex of one parcel moved 1–4 cm; its neighbours keep it.
fn near_miss<R: Rng>(shape: &mut BlockShape, rng: &mut R) -> Injection {
    let last = shape.mid.len() - 1;
    let k = rng.gen_range(1..last);
    let at = shape.mid[k];
    let s = owner(shape, Side::South, k.min(last - 1));
    let mut others: Vec<usize> =
        (0..shape.parcels.len()).filter(|&i| i != s && shape.parcels[i].exterior.contains(&at)).collect();
    let len = rng.gen_range(0.01..0.04);
    let ang: f64 = rng.gen_range(0.0..std::f64::consts::TAU);
    let mut moved = c(at.x + len * ang.cos(), at.y + len * ang.sin());
    if moved == at {
        moved = c(at.x + 0.02, at.y);
    }
    for q in &mut shape.parcels[s].exterior {
        if *q == at {
            *q = moved;
        }
    }
    let dist = ((moved.x - at.x).powi(2) + (moved.y - at.y).powi(2)).sqrt();
    let mut objs = vec![s];
    objs.append(&mut others);
    Injection::new(
        Rule::NearMiss,
        objs,
        at,
        &[Rule::Overlap, Rule::Gap, Rule::Sliver],
        format!("shared vertex of {{0}} moved {dist:.3} m; its neighbours keep the old position"),
    )
}

/// A 0.64 m² parcel cut from the street edge of a south parcel (the block was drawn one parcel short).
fn tiny<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let s = pick(&sides.south, rng);
    let ring = &mut shape.parcels[s].exterior;
    let n = ring.len();
    let mx = mm((ring[n - 2].x + ring[n - 1].x) / 2.0);
    let (y0, y1) = (sides.rect.y0, sides.rect.y0 + 0.8);
    let notch = [c(mx + 0.4, y0), c(mx + 0.4, y1), c(mx - 0.4, y1), c(mx - 0.4, y0)];
    for (k, q) in notch.iter().enumerate() {
        ring.insert(n - 1 + k, *q);
    }
    let tiny = ParcelShape {
        exterior: vec![notch[2], notch[1], notch[0], notch[3]],
        holes: Vec::new(),
        side: Side::Notch,
        mid: None,
        safe: None,
    };
    shape.parcels.insert(s + 1, tiny);
    for b in &mut shape.buildings {
        if b.parcel > s {
            b.parcel += 1;
        }
    }
    Injection::new(
        Rule::Tiny,
        vec![s + 1],
        c(mx, y0 + 0.4),
        &[],
        "0.64 m² parcel {0} cut from the street edge of its neighbour".to_string(),
    )
}

/// A north parcel extended across the street, 2 m past the sub-district border.
fn outside_subdistrict<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let p = pick(&sides.north, rng);
    let ext = sides.north_street / 2.0 + 2.0;
    let ring = &mut shape.parcels[p].exterior;
    let (tl, tr) = (ring[0], ring[1]);
    ring.insert(1, c(tl.x, sides.rect.y1 + ext));
    ring.insert(2, c(tr.x, sides.rect.y1 + ext));
    let loc = c((tl.x + tr.x) / 2.0, sides.rect.y1 + sides.north_street / 2.0);
    Injection::new(
        Rule::OutsideSubdistrict,
        vec![p],
        loc,
        &[Rule::CodeConsistency],
        format!("{{0}} extended {ext:.2} m across the street, 2 m past the sub-district border"),
    )
}

/// A parcel whose code is malformed (`code.format`) or names a neighbouring sub-district
/// (`code.consistency`); the codes are written later, by [`CodeAction`].
fn wrong_code<R: Rng>(rule: Rule, shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let p = pick(&sides.both, rng);
    strip_buildings(shape, p);
    let loc = centre(&shape.parcels[p]);
    let mut inj = if rule == Rule::CodeFormat {
        Injection::new(
            rule,
            vec![p],
            loc,
            &[Rule::CodeConsistency],
            "malformed ZDDM {0} (and its BDCDYH); the parcel has no buildings".to_string(),
        )
    } else {
        Injection::new(
            rule,
            vec![p],
            loc,
            &[Rule::OutsideSubdistrict],
            "ZDDM {0} names a neighbouring sub-district; DJZQDM and the location say otherwise".to_string(),
        )
    };
    inj.code = if rule == Rule::CodeFormat {
        CodeAction::Malformed { parcel: p, variant: rng.gen_range(0..3) }
    } else {
        CodeAction::Foreign { parcel: p }
    };
    inj
}

/// Two neighbouring south parcels with one code (applied later, by [`CodeAction`]).
fn duplicate_code<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let i = rng.gen_range(0..sides.south.len() - 1);
    let (a, b) = (sides.south[i], sides.south[i + 1]);
    strip_buildings(shape, a);
    strip_buildings(shape, b);
    let loc = centre(&shape.parcels[b]);
    let mut inj = Injection::new(
        Rule::CodeDuplicate,
        vec![a],
        loc,
        &[],
        "two neighbouring parcels both carry ZDDM {0}; neither has buildings".to_string(),
    );
    inj.code = CodeAction::Duplicate { source: a, target: b };
    inj
}

/// A recorded area far outside the tolerance (applied later, by [`AttrAction`]).
fn wrong_area<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let p = pick(&sides.both, rng);
    let mut inj = Injection::new(Rule::AreaTolerance, vec![p], centre(&shape.parcels[p]), &[], String::new());
    inj.attr = AttrAction::Area { parcel: p, sign: if rng.gen_bool(0.5) { 1 } else { -1 } };
    inj
}

/// A building moved 2 m across the street edge of its parcel.
fn building_outside<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let with: Vec<usize> =
        sides.south.iter().copied().filter(|&s| shape.buildings.iter().any(|b| b.parcel == s)).collect();
    let s = pick(&with, rng);
    let bi = shape.buildings.iter().position(|b| b.parcel == s).unwrap_or(0);
    let r = &mut shape.buildings[bi].rect;
    let dy = r.y0 - (sides.rect.y0 - 2.0);
    r.y0 = mm(r.y0 - dy);
    r.y1 = mm(r.y1 - dy);
    let loc = c((r.x0 + r.x1) / 2.0, sides.rect.y0);
    let mut inj = Injection::new(
        Rule::BuildingOutsideParcel,
        vec![s],
        loc,
        &[],
        "building {b0} moved 2 m across the street edge of parcel {0}".to_string(),
    );
    inj.buildings = vec![bi];
    inj
}

/// One of two buildings on the widest parcel widened 1.5 m into the other.
fn building_overlap(shape: &mut BlockShape, sides: &Sides) -> Injection {
    let p = *sides
        .both
        .iter()
        .max_by(|&&x, &&y| safe_w(&shape.parcels[x]).total_cmp(&safe_w(&shape.parcels[y])))
        .unwrap_or(&0);
    if shape.buildings.iter().filter(|b| b.parcel == p).count() < 2 {
        strip_buildings(shape, p);
        two_buildings(shape, p);
    }
    let first = shape.buildings.iter().position(|b| b.parcel == p).unwrap_or(0);
    let (b1, b2) = (first, first + 1);
    let x0 = shape.buildings[b2].rect.x0;
    shape.buildings[b1].rect.x1 = mm(x0 + 1.5);
    let r2 = shape.buildings[b2].rect;
    let loc = c(x0 + 0.75, (r2.y0 + r2.y1) / 2.0);
    let mut inj = Injection::new(
        Rule::BuildingOverlap,
        vec![p],
        loc,
        &[],
        "building {b0} widened 1.5 m into building {b1} on parcel {0}".to_string(),
    );
    inj.buildings = vec![b1, b2];
    inj
}

/// ZL or YT of a parcel left empty (applied later, by [`AttrAction`]).
fn missing_attribute<R: Rng>(shape: &mut BlockShape, sides: &Sides, rng: &mut R) -> Injection {
    let p = pick(&sides.both, rng);
    let loc = centre(&shape.parcels[p]);
    if rng.gen_bool(0.5) {
        let mut inj =
            Injection::new(Rule::AttributeMissing, vec![p], loc, &[], "ZL (坐落) of {0} left empty".to_string());
        inj.attr = AttrAction::MissingAddress { parcel: p };
        inj
    } else {
        let mut inj = Injection::new(
            Rule::AttributeMissing,
            vec![p],
            loc,
            &[Rule::AttributeDomain],
            "YT (土地用途) of {0} left empty".to_string(),
        );
        inj.attr = AttrAction::MissingUse { parcel: p };
        inj
    }
}

fn seg_len(shape: &BlockShape, k: usize) -> f64 {
    shape.mid[k + 1].x - shape.mid[k].x
}

/// The parcel of `side` whose middle-line range covers segment `k..k+1`.
fn owner(shape: &BlockShape, side: Side, k: usize) -> usize {
    shape.parcels.iter().position(|p| p.side == side && p.mid.is_some_and(|(a, b)| a <= k && k < b)).unwrap_or(0)
}

fn safe_w(p: &ParcelShape) -> f64 {
    p.safe.map_or(0.0, |s| s.width())
}

fn centre(p: &ParcelShape) -> Coord<f64> {
    p.safe.map_or(p.exterior[0], |s| c((s.x0 + s.x1) / 2.0, (s.y0 + s.y1) / 2.0))
}

/// Two buildings side by side, fronts aligned, 4 m apart.
fn two_buildings(shape: &mut BlockShape, p: usize) {
    let Some(s) = shape.parcels[p].safe else {
        return;
    };
    let w = (s.width() - 4.0) / 2.0;
    let depth = (s.height() * 0.6).max(5.0).min(s.height());
    let (y0, y1) = if shape.parcels[p].side == Side::North { (s.y1 - depth, s.y1) } else { (s.y0, s.y0 + depth) };
    let at = shape.buildings.iter().position(|b| b.parcel > p).unwrap_or(shape.buildings.len());
    for (k, x0) in [s.x0, s.x0 + w + 4.0].into_iter().enumerate() {
        let rect = Rect { x0: mm(x0), y0: mm(y0), x1: mm(x0 + w), y1: mm(y1) };
        shape.buildings.insert(at + k, BuildingShape { parcel: p, rect });
    }
}

/// Intersection of segments a-b and c-d (their lines), for a location.
fn crossing(a: Coord<f64>, b: Coord<f64>, cc: Coord<f64>, d: Coord<f64>) -> Coord<f64> {
    let (r, s) = (b - a, d - cc);
    let den = r.x * s.y - r.y * s.x;
    if den.abs() < 1e-12 {
        return midpoint(a, b);
    }
    let t = ((cc.x - a.x) * s.y - (cc.y - a.y) * s.x) / den;
    Coord { x: a.x + t * r.x, y: a.y + t * r.y }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_of_diagonals_is_the_centre() {
        let p = crossing(
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 2.0, y: 2.0 },
            Coord { x: 0.0, y: 2.0 },
            Coord { x: 2.0, y: 0.0 },
        );
        assert!((p.x - 1.0).abs() < 1e-12 && (p.y - 1.0).abs() < 1e-12);
    }
}
