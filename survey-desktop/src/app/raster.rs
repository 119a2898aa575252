//! Level of detail for zoomed-out views: parcel outlines rasterised into tiles of a
//! pyramid (level 0 covers the whole project, each level doubles the resolution),
//! cached as textures. Panning a zoomed-out view of a million parcels then draws a
//! few textured rectangles. Missing tiles are built within a time budget per frame,
//! an ancestor tile stands in meanwhile; edits make the tiles they touch stale.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use egui::{Color32, ColorImage, Pos2, Rect, TextureHandle, TextureOptions};
use geo_types::Coord;

use super::layers::Layers;
use super::view::ViewTransform;
use crate::model::Editor;

/// Tile edge in pixels.
pub const TILE: usize = 512;
/// Deepest level (beyond it the vector renderer takes over anyway).
const MAX_LEVEL: u8 = 14;
/// Levels up to this one are never evicted.
const KEEP_LEVEL: u8 = 2;
/// How many levels down finer tiles are looked for to stand in for a coarser one.
const DESCENT: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TileKey {
    level: u8,
    tx: i64,
    ty: i64,
}

struct Tile {
    texture: TextureHandle,
    generation: u64,
    last_used: u64,
}

/// A world box (min, max) and the edit generation it became stale at.
type StaleBox = (([f64; 2], [f64; 2]), u64);

/// The tile pyramid.
#[derive(Default)]
pub struct RasterCache {
    /// World origin (top-left: min x, max y) and level-0 pixels per metre.
    base: Option<([f64; 2], f64)>,
    tiles: HashMap<TileKey, Tile>,
    /// Edit generation each world box became stale at.
    stale: Vec<StaleBox>,
    style_key: u64,
    frame: u64,
    /// Tiles built in the last frame (for tests and the benchmark).
    pub built_last_frame: usize,
    /// Tiles (or ancestors standing in) drawn in the last frame.
    pub drawn_last_frame: usize,
    last_scale: f64,
}

impl RasterCache {
    /// Forget everything (new document).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// A world box changed at `generation`: tiles over it are rebuilt when next seen.
    pub fn invalidate(&mut self, min: [f64; 2], max: [f64; 2], generation: u64) {
        self.stale.push(((min, max), generation));
        if self.stale.len() > 256 {
            // Too many small boxes: everything is stale.
            self.stale = vec![(([f64::MIN, f64::MIN], [f64::MAX, f64::MAX]), generation)];
        }
    }

    fn tile_world(&self, k: TileKey) -> ([f64; 2], [f64; 2], f64) {
        let (origin, base) = self.base.unwrap_or(([0.0, 0.0], 1.0));
        let scale = base * f64::from(1u32 << k.level);
        let size = TILE as f64 / scale;
        let x0 = origin[0] + k.tx as f64 * size;
        let y1 = origin[1] - k.ty as f64 * size;
        ([x0, y1 - size], [x0 + size, y1], scale)
    }

    fn is_stale(&self, k: TileKey, tile: &Tile) -> bool {
        let (lo, hi, _) = self.tile_world(k);
        self.stale
            .iter()
            .any(|((a, b), g)| *g > tile.generation && a[0] <= hi[0] && b[0] >= lo[0] && a[1] <= hi[1] && b[1] >= lo[1])
    }

    /// Draw the view from tiles; builds missing/stale ones for up to `budget`.
    pub fn paint(
        &mut self,
        painter: &egui::Painter,
        t: &ViewTransform,
        ed: &Editor,
        layers: &Layers,
        budget: Duration,
    ) {
        self.frame += 1;
        self.built_last_frame = 0;
        self.drawn_last_frame = 0;
        let zooming = self.last_scale != t.scale();
        self.last_scale = t.scale();
        let Some((lo, hi)) = ed.index().extent() else { return };
        if self.base.is_none() || self.style_key != layers.style_key() {
            let span = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1.0);
            // Level 0: one tile over the whole project (with a margin).
            self.base = Some(([lo[0] - span * 0.05, hi[1] + span * 0.05], TILE as f64 / (span * 1.1)));
            self.tiles.clear();
            self.style_key = layers.style_key();
        }
        let Some((_, base)) = self.base else { return };
        let level = ((t.scale() / base).log2().ceil().max(0.0) as u8).min(MAX_LEVEL);
        let (vlo, vhi) = t.world_bounds();
        let started = Instant::now();
        let needed = self.tiles_over(level, vlo, vhi);
        let generation = ed.index().generation;
        for k in needed {
            let have = self.fresh(k);
            // Finer tiles that cover it all are drawn instead of building it: zoomed out past
            // the whole project, the tiles of the project's own view stay what is drawn.
            let covered = !have && self.covered(k, DESCENT);
            // While zooming a coarser tile stands in; tiles are built once the scale holds
            // (a tile near the top of the pyramid holds most of the project).
            let stand_in = self.tiles.contains_key(&k) || self.ancestor(k).is_some() || !self.descendants(k).is_empty();
            let build = if zooming { !stand_in } else { started.elapsed() < budget || !stand_in };
            if !have && !covered && build {
                let image = self.rasterise(k, ed, layers);
                let ctx = painter.ctx();
                let texture =
                    ctx.load_texture(format!("tile-{}-{}-{}", k.level, k.tx, k.ty), image, TextureOptions::LINEAR);
                self.tiles.insert(k, Tile { texture, generation, last_used: self.frame });
                self.built_last_frame += 1;
            }
            self.draw(painter, t, k);
        }
        self.evict();
    }

    /// Past 160 tiles, forgets those not drawn for 120 frames, but never the top of the
    /// pyramid (at most 1 + 4 + 16 tiles): it is what stands in while zooming far out.
    fn evict(&mut self) {
        if self.tiles.len() > 160 {
            let frame = self.frame;
            self.tiles.retain(|k, tile| k.level <= KEEP_LEVEL || frame - tile.last_used < 120);
        }
    }

    /// Whether tiles are still missing or stale for this view (ask for another frame).
    pub fn wants_more(&self, t: &ViewTransform, ed: &Editor) -> bool {
        let Some((_, base)) = self.base else { return false };
        if ed.index().extent().is_none() {
            return false;
        }
        let level = ((t.scale() / base).log2().ceil().max(0.0) as u8).min(MAX_LEVEL);
        let (vlo, vhi) = t.world_bounds();
        self.tiles_over(level, vlo, vhi)
            .into_iter()
            .any(|k| self.tiles.get(&k).is_none_or(|tile| self.is_stale(k, tile)))
    }

    fn tiles_over(&self, level: u8, lo: [f64; 2], hi: [f64; 2]) -> Vec<TileKey> {
        let (origin, base) = self.base.unwrap_or(([0.0, 0.0], 1.0));
        let size = TILE as f64 / (base * f64::from(1u32 << level));
        let n = 1i64 << level;
        let tx0 = (((lo[0] - origin[0]) / size).floor() as i64).clamp(0, n - 1);
        let tx1 = (((hi[0] - origin[0]) / size).floor() as i64).clamp(0, n - 1);
        let ty0 = (((origin[1] - hi[1]) / size).floor() as i64).clamp(0, n - 1);
        let ty1 = (((origin[1] - lo[1]) / size).floor() as i64).clamp(0, n - 1);
        let mut v = Vec::new();
        for ty in ty0..=ty1 {
            for tx in tx0..=tx1 {
                v.push(TileKey { level, tx, ty });
            }
        }
        v
    }

    fn ancestor(&self, k: TileKey) -> Option<TileKey> {
        let mut a = k;
        while a.level > 0 {
            a = TileKey { level: a.level - 1, tx: a.tx >> 1, ty: a.ty >> 1 };
            if self.tiles.contains_key(&a) {
                return Some(a);
            }
        }
        None
    }

    /// The cached tiles below `k` that stand in for it: each child if cached, else its
    /// own stand-ins, down to [`DESCENT`] levels. Zooming out past any view seen before, the finer
    /// tiles already built cover the coarser one, which is built once the scale holds (at
    /// the top of the pyramid one tile holds most of the project: 150–200 ms to build at
    /// 100,000 parcels, too long for a frame of a zoom).
    fn descendants(&self, k: TileKey) -> Vec<TileKey> {
        let mut out = Vec::new();
        self.collect_descendants(k, DESCENT, &mut out);
        out
    }

    fn collect_descendants(&self, k: TileKey, depth: u8, out: &mut Vec<TileKey>) {
        if depth == 0 || k.level >= MAX_LEVEL {
            return;
        }
        for child in children(k) {
            if self.tiles.contains_key(&child) {
                out.push(child);
            } else {
                self.collect_descendants(child, depth - 1, out);
            }
        }
    }

    /// Whether `k` is cached and not stale.
    fn fresh(&self, k: TileKey) -> bool {
        self.tiles.get(&k).is_some_and(|tile| !self.is_stale(k, tile))
    }

    /// Whether fresh tiles below `k`, down to `depth` levels, cover all of it.
    fn covered(&self, k: TileKey, depth: u8) -> bool {
        depth > 0 && k.level < MAX_LEVEL && children(k).into_iter().all(|c| self.fresh(c) || self.covered(c, depth - 1))
    }

    fn draw(&mut self, painter: &egui::Painter, t: &ViewTransform, k: TileKey) {
        if !self.fresh(k) && self.covered(k, DESCENT) {
            for d in self.descendants(k) {
                self.draw(painter, t, d);
            }
            return;
        }
        let (lo, hi, _) = self.tile_world(k);
        let screen =
            Rect::from_two_pos(t.to_screen(Coord { x: lo[0], y: hi[1] }), t.to_screen(Coord { x: hi[0], y: lo[1] }));
        let (src, uv) = if self.tiles.contains_key(&k) {
            (k, Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)))
        } else if let Some(a) = self.ancestor(k) {
            // The part of the ancestor tile that covers this one.
            let d = k.level - a.level;
            let n = f32::from(1u16 << d);
            let (ox, oy) = ((k.tx - (a.tx << d)) as f32, (k.ty - (a.ty << d)) as f32);
            (a, Rect::from_min_max(Pos2::new(ox / n, oy / n), Pos2::new((ox + 1.0) / n, (oy + 1.0) / n)))
        } else {
            for d in self.descendants(k) {
                self.draw(painter, t, d);
            }
            return;
        };
        if let Some(tile) = self.tiles.get_mut(&src) {
            tile.last_used = self.frame;
            painter.image(tile.texture.id(), screen, uv, Color32::WHITE);
            self.drawn_last_frame += 1;
        }
    }

    /// Rasterise the parcels and buildings of one tile (outlines, one pixel wide).
    fn rasterise(&self, k: TileKey, ed: &Editor, layers: &Layers) -> ColorImage {
        let (lo, hi, scale) = self.tile_world(k);
        let mut img = ColorImage::filled([TILE, TILE], Color32::TRANSPARENT);
        let px = |c: Coord<f64>| ((c.x - lo[0]) * scale, (hi[1] - c.y) * scale);
        let doc = ed.doc();
        if layers.parcels.visible {
            let fill = layers.parcels.fill;
            let stroke = layers.parcels.stroke;
            for id in ed.index().parcels_in(lo, hi) {
                let Some(p) = doc.parcels.get(&id) else { continue };
                for (_, _, ring) in p.outline.rings() {
                    let cs: Vec<(f64, f64)> = ring.iter().filter_map(|i| doc.points.get(i)).map(|&c| px(c)).collect();
                    if let Some(&(x, y)) = cs.first() {
                        // A parcel under a pixel still tints it.
                        plot(&mut img, x, y, fill);
                    }
                    for w in 0..cs.len() {
                        line(&mut img, cs[w], cs[(w + 1) % cs.len()], stroke);
                    }
                }
            }
        }
        if layers.buildings.visible {
            for id in ed.index().buildings_in(lo, hi) {
                let Some(b) = doc.buildings.get(&id) else { continue };
                for poly in &b.footprint.0 {
                    let cs: Vec<(f64, f64)> = poly.exterior().0.iter().map(|&c| px(c)).collect();
                    for w in cs.windows(2) {
                        line(&mut img, w[0], w[1], layers.buildings.stroke);
                    }
                }
            }
        }
        img
    }
}

/// The four tiles one level below `k`.
fn children(k: TileKey) -> [TileKey; 4] {
    let (level, tx, ty) = (k.level + 1, k.tx << 1, k.ty << 1);
    [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| TileKey { level, tx: tx + dx, ty: ty + dy })
}

fn plot(img: &mut ColorImage, x: f64, y: f64, c: Color32) {
    if x >= 0.0 && y >= 0.0 && (x as usize) < TILE && (y as usize) < TILE {
        let i = (y as usize) * TILE + x as usize;
        if img.pixels[i] == Color32::TRANSPARENT {
            img.pixels[i] = c;
        }
    }
}

/// A one-pixel line (DDA), clipped to the tile.
fn line(img: &mut ColorImage, a: (f64, f64), b: (f64, f64), c: Color32) {
    let t = TILE as f64;
    if (a.0 < 0.0 && b.0 < 0.0) || (a.1 < 0.0 && b.1 < 0.0) || (a.0 >= t && b.0 >= t) || (a.1 >= t && b.1 >= t) {
        return;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let steps = dx.abs().max(dy.abs()).ceil().min(4.0 * t) as usize;
    if steps == 0 {
        if a.0 >= 0.0 && a.1 >= 0.0 && (a.0 as usize) < TILE && (a.1 as usize) < TILE {
            img.pixels[(a.1 as usize) * TILE + a.0 as usize] = c;
        }
        return;
    }
    let (sx, sy) = (dx / steps as f64, dy / steps as f64);
    for s in 0..=steps {
        let (x, y) = (a.0 + sx * s as f64, a.1 + sy * s as f64);
        if x >= 0.0 && y >= 0.0 && (x as usize) < TILE && (y as usize) < TILE {
            img.pixels[(y as usize) * TILE + x as usize] = c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(ctx: &egui::Context, last_used: u64) -> Tile {
        let texture = ctx.load_texture("t", ColorImage::filled([1, 1], Color32::WHITE), TextureOptions::LINEAR);
        Tile { texture, generation: 0, last_used }
    }

    const ROOT: TileKey = TileKey { level: 0, tx: 0, ty: 0 };

    #[test]
    fn finer_tiles_cover_a_coarser_one_only_when_they_cover_all_of_it() {
        let ctx = egui::Context::default();
        let mut cache = RasterCache::default();
        let [a, b, c, d] = children(ROOT);
        for k in [a, b, c] {
            cache.tiles.insert(k, tile(&ctx, 0));
        }
        assert!(!cache.covered(ROOT, DESCENT), "a quarter is missing");
        assert_eq!(cache.descendants(ROOT).len(), 3, "three quarters still stand in");
        // The missing quarter, by its own four quarters.
        for g in children(d) {
            cache.tiles.insert(g, tile(&ctx, 0));
        }
        assert!(cache.covered(ROOT, DESCENT));
        assert!(!cache.covered(ROOT, 1), "one level down is not enough here");
        assert_eq!(cache.descendants(ROOT).len(), 7);
        // A stale quarter does not cover.
        let (lo, hi, _) = cache.tile_world(a);
        cache.invalidate(lo, hi, 1);
        assert!(!cache.covered(ROOT, DESCENT));
    }

    #[test]
    fn eviction_keeps_the_top_of_the_pyramid() {
        let ctx = egui::Context::default();
        let mut cache = RasterCache::default();
        for k in children(ROOT) {
            cache.tiles.insert(k, tile(&ctx, 0));
        }
        for tx in 0..200 {
            cache.tiles.insert(TileKey { level: 8, tx, ty: 0 }, tile(&ctx, 0));
        }
        let recent = TileKey { level: 8, tx: 0, ty: 1 };
        cache.tiles.insert(recent, tile(&ctx, 990));
        cache.frame = 1000;
        cache.evict();
        let mut left: Vec<TileKey> = cache.tiles.keys().copied().collect();
        left.sort_by_key(|k| (k.level, k.ty, k.tx));
        let mut expected: Vec<TileKey> = children(ROOT).into();
        expected.push(recent);
        expected.sort_by_key(|k| (k.level, k.ty, k.tx));
        assert_eq!(left, expected);
    }
}
