//! Drawing the map: vector meshes near survey zooms, the tile pyramid
//! ([`super::raster`]) when parcels are only a few pixels across.
//!
//! The vector mesh is built for the view plus a margin at one scale and reused while
//! panning (translated); fills are tessellated once per parcel revision (a fan for
//! convex rings, lyon for the rest) and cached. Geometry goes to screen through f64.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use egui::epaint::{Mesh, Vertex, WHITE_UV};
use egui::{pos2, Color32, Pos2, Shape, Vec2};
use geo_types::Coord;
use lyon_tessellation::math::point;
use lyon_tessellation::path::Path;
use lyon_tessellation::{BuffersBuilder, FillOptions, FillRule, FillTessellator, FillVertex, VertexBuffers};

use super::layers::{LayerStyle, Layers};
use super::raster::RasterCache;
use super::view::ViewTransform;
use crate::model::{Editor, FeatureId};

/// Parcels at least this many screen points across are drawn as vectors.
pub const VECTOR_PX: f64 = 14.0;
/// Labels from this parcel size on.
const LABEL_PX: f64 = 70.0;

/// How a frame was drawn (for the status bar, tests and the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Vector (true) or tiles: the level of detail.
    pub vector: bool,
    /// Parcels in the vector mesh.
    pub parcels: usize,
    /// Whether the mesh (or a tile) was rebuilt this frame; a cached one was drawn otherwise.
    pub rebuilt: bool,
    /// Tiles drawn (zoomed out).
    pub tiles: usize,
    /// Parcel-code labels drawn.
    pub labels: usize,
}

/// Triangles of one parcel's fill: indices into its concatenated ring vertices
/// (fan or lyon output), with lyon's own vertices when it made any.
struct Tess {
    revision: u64,
    /// Vertices relative to `reference` (lyon output); empty: use the ring vertices.
    verts: Vec<[f32; 2]>,
    reference: Coord<f64>,
    indices: Vec<u32>,
}

struct VectorCache {
    scale: f64,
    /// World position of the mesh's (0, 0).
    origin: Coord<f64>,
    cover: ([f64; 2], [f64; 2]),
    generation: u64,
    style: u64,
    mesh: Arc<Mesh>,
    parcels: Vec<FeatureId>,
}

/// The map renderer's caches.
#[derive(Default)]
pub struct MapRenderer {
    tess: HashMap<FeatureId, Tess>,
    vector: Option<VectorCache>,
    /// Zoomed-out tiles.
    pub raster: RasterCache,
    /// Typical parcel size in metres (median bounding-box side of a sample).
    typical: f64,
    /// Last frame's statistics.
    pub stats: FrameStats,
    /// Scale of the previous frame: while it keeps changing (zooming) the cached mesh
    /// is scaled instead of rebuilt; it is rebuilt when zooming pauses.
    last_scale: f64,
}

fn is_convex(cs: &[Coord<f64>]) -> bool {
    let n = cs.len();
    let mut sign = 0.0f64;
    for i in 0..n {
        let (a, b, c) = (cs[i], cs[(i + 1) % n], cs[(i + 2) % n]);
        let cross = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    true
}

fn tessellate(rings: &[Vec<Coord<f64>>], revision: u64) -> Tess {
    if let [ring] = rings {
        if is_convex(ring) {
            let indices = (1..ring.len().saturating_sub(1) as u32).flat_map(|i| [0, i, i + 1]).collect();
            return Tess { revision, verts: Vec::new(), reference: Coord { x: 0.0, y: 0.0 }, indices };
        }
    }
    let reference = rings.first().and_then(|r| r.first()).copied().unwrap_or(Coord { x: 0.0, y: 0.0 });
    let mut builder = Path::builder();
    for ring in rings {
        let mut it = ring.iter().map(|c| point((c.x - reference.x) as f32, (c.y - reference.y) as f32));
        if let Some(first) = it.next() {
            builder.begin(first);
            for p in it {
                builder.line_to(p);
            }
            builder.end(true);
        }
    }
    let path = builder.build();
    let mut buffers: VertexBuffers<[f32; 2], u32> = VertexBuffers::new();
    let options = FillOptions::default().with_fill_rule(FillRule::EvenOdd);
    let ok = FillTessellator::new()
        .tessellate_path(
            &path,
            &options,
            &mut BuffersBuilder::new(&mut buffers, |v: FillVertex| v.position().to_array()),
        )
        .is_ok();
    if !ok {
        // Self-intersecting garbage: no fill (the outline still shows it, QC reports it).
        return Tess { revision, verts: vec![[0.0, 0.0]], reference, indices: Vec::new() };
    }
    Tess { revision, verts: buffers.vertices, reference, indices: buffers.indices }
}

/// Thin quads for an outline (screen-space decimation: vertices closer than half a
/// point to the last one kept are skipped).
fn outline(mesh: &mut Mesh, pts: &[Pos2], width: f32, color: Color32) {
    let n = pts.len();
    if n < 2 {
        return;
    }
    let mut last = pts[0];
    for k in 1..=n {
        let p = pts[k % n];
        if k < n && (p - last).length_sq() < 0.25 {
            continue;
        }
        segment(mesh, last, p, width, color);
        last = p;
    }
}

fn segment(mesh: &mut Mesh, a: Pos2, b: Pos2, width: f32, color: Color32) {
    let d = b - a;
    let len = d.length();
    if len < 1e-3 {
        return;
    }
    let n = Vec2::new(-d.y, d.x) / len * (width / 2.0);
    let base = mesh.vertices.len() as u32;
    for p in [a + n, a - n, b - n, b + n] {
        mesh.vertices.push(Vertex { pos: p, uv: WHITE_UV, color });
    }
    mesh.indices.extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
}

impl MapRenderer {
    /// Forget caches (a new document).
    pub fn reset(&mut self, ed: &Editor) {
        self.tess.clear();
        self.vector = None;
        self.raster.reset();
        let doc = ed.doc();
        let step = (doc.parcels.len() / 1000).max(1);
        let mut sides: Vec<f64> = doc
            .parcels
            .keys()
            .step_by(step)
            .filter_map(|&id| ed.index().parcel_bbox(id))
            .map(|(lo, hi)| (hi[0] - lo[0]).max(hi[1] - lo[1]))
            .collect();
        sides.sort_by(f64::total_cmp);
        self.typical = sides.get(sides.len() / 2).copied().unwrap_or(10.0).max(0.01);
    }

    /// Typical parcel size on screen at this scale.
    pub fn parcel_px(&self, scale: f64) -> f64 {
        self.typical * scale
    }

    /// Mark an edited world box (for the tiles).
    pub fn invalidate(&mut self, min: [f64; 2], max: [f64; 2], generation: u64) {
        self.raster.invalidate(min, max, generation);
    }

    /// Draw parcels and buildings.
    pub fn paint(&mut self, painter: &egui::Painter, t: &ViewTransform, ed: &Editor, layers: &Layers) {
        if self.typical == 0.0 {
            self.reset(ed);
        }
        if self.parcel_px(t.scale()) < VECTOR_PX {
            self.raster.paint(painter, t, ed, layers, Duration::from_millis(8));
            self.stats = FrameStats {
                vector: false,
                rebuilt: self.raster.built_last_frame > 0,
                tiles: self.raster.drawn_last_frame,
                ..FrameStats::default()
            };
            return;
        }
        let (lo, hi) = t.world_bounds();
        // The mesh shows the current document and styles and covers the view.
        let usable = |v: &VectorCache| {
            v.generation == ed.index().generation
                && v.style == layers.style_key()
                && v.cover.0[0] <= lo[0]
                && v.cover.0[1] <= lo[1]
                && v.cover.1[0] >= hi[0]
                && v.cover.1[1] >= hi[1]
        };
        let valid = self.vector.as_ref().is_some_and(|v| v.scale == t.scale() && usable(v));
        let zooming = self.last_scale != t.scale();
        self.last_scale = t.scale();
        // Mid-zoom: the mesh of another scale, stretched, as long as it covers the view.
        let stretch = !valid
            && zooming
            && self.vector.as_ref().is_some_and(|v| (0.5..=2.0).contains(&(t.scale() / v.scale)) && usable(v));
        let rebuilt = !valid && !stretch;
        if rebuilt {
            self.vector = Some(self.build(t, ed, layers));
        }
        if let Some(v) = &self.vector {
            let mut mesh = (*v.mesh).clone();
            if stretch {
                // Come back to rebuild at the final scale once zooming pauses.
                painter.ctx().request_repaint();
                let k = (t.scale() / v.scale) as f32;
                for vert in &mut mesh.vertices {
                    vert.pos = Pos2::new(vert.pos.x * k, vert.pos.y * k);
                }
            }
            mesh.translate(t.to_screen(v.origin).to_vec2());
            painter.add(Shape::mesh(mesh));
            self.stats = FrameStats { vector: true, parcels: v.parcels.len(), rebuilt, ..FrameStats::default() };
        }
    }

    fn build(&mut self, t: &ViewTransform, ed: &Editor, layers: &Layers) -> VectorCache {
        let (lo, hi) = t.world_bounds();
        let pad = [(hi[0] - lo[0]) * 0.25, (hi[1] - lo[1]) * 0.25];
        let cover = ([lo[0] - pad[0], lo[1] - pad[1]], [hi[0] + pad[0], hi[1] + pad[1]]);
        let origin = Coord { x: cover.0[0], y: cover.1[1] };
        let scale = t.scale();
        let px = |c: Coord<f64>| pos2(((c.x - origin.x) * scale) as f32, ((origin.y - c.y) * scale) as f32);
        let doc = ed.doc();
        let mut mesh = Mesh::default();
        let mut ids: Vec<FeatureId> =
            if layers.parcels.visible { ed.index().parcels_in(cover.0, cover.1).collect() } else { Vec::new() };
        ids.sort_unstable();
        let mut fills = Mesh::default();
        for &id in &ids {
            let Some(p) = doc.parcels.get(&id) else { continue };
            let rings: Vec<Vec<Coord<f64>>> = p
                .outline
                .rings()
                .map(|(_, _, r)| r.iter().filter_map(|i| doc.points.get(i).copied()).collect())
                .collect();
            if layers.parcels.fill.a() > 0 {
                let rev = ed.index().revision(id);
                let tess = self.tess.entry(id).or_insert_with(|| tessellate(&rings, rev));
                if tess.revision != rev {
                    *tess = tessellate(&rings, rev);
                }
                add_fill(&mut fills, tess, &rings, &px, layers.parcels.fill);
            }
            for ring in &rings {
                let pts: Vec<Pos2> = ring.iter().map(|&c| px(c)).collect();
                outline(&mut mesh, &pts, layers.parcels.width, layers.parcels.stroke);
            }
        }
        if layers.buildings.visible {
            for id in ed.index().buildings_in(cover.0, cover.1) {
                let Some(b) = doc.buildings.get(&id) else { continue };
                let rings: Vec<Vec<Coord<f64>>> = b
                    .footprint
                    .0
                    .iter()
                    .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                    .map(|ls| {
                        let mut v = ls.0.clone();
                        if v.len() > 1 && v.first() == v.last() {
                            v.pop();
                        }
                        v
                    })
                    .collect();
                if layers.buildings.fill.a() > 0 {
                    let tess = tessellate(&rings, 0);
                    add_fill(&mut fills, &tess, &rings, &px, layers.buildings.fill);
                }
                for ring in &rings {
                    let pts: Vec<Pos2> = ring.iter().map(|&c| px(c)).collect();
                    outline(&mut mesh, &pts, layers.buildings.width, layers.buildings.stroke);
                }
            }
        }
        // Fills under outlines.
        fills.append(mesh);
        VectorCache {
            scale,
            origin,
            cover,
            generation: ed.index().generation,
            style: layers.style_key(),
            mesh: Arc::new(fills),
            parcels: ids,
        }
    }

    /// Parcels in the current vector mesh (labels draw from these).
    pub fn vector_parcels(&self) -> &[FeatureId] {
        self.vector.as_ref().map_or(&[], |v| v.parcels.as_slice())
    }

    /// Draw parcel-code labels when parcels are big enough on screen (counted in
    /// [`FrameStats::labels`]).
    pub fn paint_labels(
        &mut self,
        painter: &egui::Painter,
        t: &ViewTransform,
        ed: &Editor,
        selection: &BTreeSet<FeatureId>,
    ) {
        let ppx = self.parcel_px(t.scale());
        if ppx < LABEL_PX || !self.stats.vector {
            return;
        }
        let ids = self.vector_parcels();
        if ids.len() > 3000 {
            return;
        }
        let mut labels = 0;
        let doc = ed.doc();
        let screen = t.screen();
        let font = egui::FontId::proportional(if ppx > 200.0 { 13.0 } else { 11.0 });
        for &id in ids {
            let Some(p) = doc.parcels.get(&id) else { continue };
            let Some((lo, hi)) = ed.index().parcel_bbox(id) else { continue };
            let at = t.to_screen(Coord { x: (lo[0] + hi[0]) / 2.0, y: (lo[1] + hi[1]) / 2.0 });
            if !screen.contains(at) {
                continue;
            }
            let w = (hi[0] - lo[0]) * t.scale();
            // Full code when it fits, else the sequence number (last 5 digits).
            let text = if w > 150.0 {
                p.zddm.clone()
            } else {
                p.zddm.chars().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect()
            };
            let color = if selection.contains(&id) { Color32::from_rgb(0, 60, 200) } else { Color32::from_gray(40) };
            painter.text(at, egui::Align2::CENTER_CENTER, text, font.clone(), color);
            labels += 1;
            if w > 220.0 {
                if let Some(zl) = &p.attributes.zl {
                    painter.text(
                        at + Vec2::new(0.0, 15.0),
                        egui::Align2::CENTER_CENTER,
                        zl,
                        egui::FontId::proportional(11.0),
                        Color32::from_gray(70),
                    );
                }
            }
        }
        self.stats.labels = labels;
    }
}

fn add_fill(out: &mut Mesh, tess: &Tess, rings: &[Vec<Coord<f64>>], px: &impl Fn(Coord<f64>) -> Pos2, color: Color32) {
    let base = out.vertices.len() as u32;
    if tess.verts.is_empty() {
        for &c in rings.iter().flatten() {
            out.vertices.push(Vertex { pos: px(c), uv: WHITE_UV, color });
        }
    } else {
        for v in &tess.verts {
            let c = Coord { x: tess.reference.x + f64::from(v[0]), y: tess.reference.y + f64::from(v[1]) };
            out.vertices.push(Vertex { pos: px(c), uv: WHITE_UV, color });
        }
    }
    out.indices.extend(tess.indices.iter().map(|i| base + i));
}

/// Stroke a ring in screen space on top (selection, highlights).
pub fn stroke_ring(painter: &egui::Painter, t: &ViewTransform, ring: &[Coord<f64>], style: &LayerStyle, width: f32) {
    let pts: Vec<Pos2> = ring.iter().map(|&c| t.to_screen(c)).collect();
    painter.add(Shape::closed_line(pts, egui::Stroke::new(width, style.stroke)));
}
