//! The parcel map (宗地图): the parcel with its boundary points J1…, edge
//! lengths, neighbours and their codes, buildings, 四至, title block and the
//! boundary-point coordinate table (on a second page when it does not fit).

use super::canvas::{Anchor, Canvas, Pen};
use super::furniture::{form, north_arrow, scale_bar, table, TableStyle};
use super::{document, finish, fit_scale, fits, page_settings, PrintError, PrintFont, SheetOptions, PARCEL_SCALES};
use crate::boundary::{four_neighbours, number_per_parcel, BoundaryLines, BoundaryPoints, Direction};
use crate::model::Submission;
use geo::{BooleanOps, BoundingRect, InteriorPoint};
use geo_types::{Coord, MultiPolygon, Polygon, Rect};
use serde::Serialize;

/// A numbered boundary point (界址点).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapPoint {
    /// 界址点号, e.g. "J1".
    pub jzdh: String,
    /// Easting (Y in Chinese surveying), m.
    pub easting: f64,
    /// Northing (X in Chinese surveying), m.
    pub northing: f64,
    /// Ring: 0 the outer ring of the first polygon, then holes and other polygons.
    pub ring: usize,
    /// Whether its ring is a hole of the parcel.
    pub hole: bool,
}

/// A boundary edge (界址线) from a point to the next one of its ring.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapEdge {
    /// Index of the start in [`ParcelMap::points`].
    pub from: usize,
    /// Index of the end.
    pub to: usize,
    /// Length, m.
    pub length: f64,
}

/// A building on the parcel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapBuilding {
    /// 自然幢号 ZRZH.
    pub zrzh: String,
    /// Building number printed on the map ("1" for …F0001).
    pub number: String,
    /// Structure and floors, e.g. "混6".
    pub label: String,
    /// Footprint.
    #[serde(skip)]
    pub footprint: MultiPolygon<f64>,
}

/// A neighbouring parcel as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct MapNeighbour {
    /// ZDDM.
    pub zddm: String,
    /// Outline.
    pub geometry: MultiPolygon<f64>,
    /// Shares a boundary with the parcel (its code is printed).
    pub adjacent: bool,
}

/// Everything a parcel map shows, prepared from a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct ParcelMap {
    /// 宗地代码.
    pub zddm: String,
    /// 坐落.
    pub address: String,
    /// 权利人 (from a QLR / QLRMC field when the data has one).
    pub owner: String,
    /// 土地用途: code and name.
    pub land_use: String,
    /// 宗地面积 as recorded (ZDMJ), else as computed, m².
    pub area: f64,
    /// The parcel.
    pub geometry: MultiPolygon<f64>,
    /// Boundary points in J order (each ring clockwise from its north-west corner).
    pub points: Vec<MapPoint>,
    /// Boundary edges, ring by ring.
    pub edges: Vec<MapEdge>,
    /// 四至: north, east, south, west.
    pub four: [String; 4],
    /// Parcels around it.
    pub neighbours: Vec<MapNeighbour>,
    /// Buildings on the parcel.
    pub buildings: Vec<MapBuilding>,
    /// Coordinate system as printed.
    pub crs: String,
}

/// Name of a GB/T 21010 land-use code (the common urban ones), with the code.
///
/// ```
/// assert_eq!(cadastre_core::print::land_use_name("0701"), "0701 城镇住宅用地");
/// assert_eq!(cadastre_core::print::land_use_name("9999"), "9999");
/// ```
pub fn land_use_name(code: &str) -> String {
    let name = match code.trim() {
        "05" => "商服用地",
        "0501" => "零售商业用地",
        "0502" => "批发市场用地",
        "0503" => "餐饮用地",
        "0504" => "旅馆用地",
        "0505" => "商务金融用地",
        "06" => "工矿仓储用地",
        "0601" => "工业用地",
        "0604" => "仓储用地",
        "07" => "住宅用地",
        "0701" => "城镇住宅用地",
        "0702" => "农村宅基地",
        "08" => "公共管理与公共服务用地",
        "0801" => "机关团体用地",
        "0809" => "公用设施用地",
        "0810" => "公园与绿地",
        "08H1" => "机关团体新闻出版用地",
        "08H2" => "科教文卫用地",
        "09" => "特殊用地",
        "10" => "交通运输用地",
        "1004" => "城镇村道路用地",
        _ => "",
    };
    if name.is_empty() {
        code.trim().to_string()
    } else {
        format!("{} {name}", code.trim())
    }
}

/// Structure abbreviation of a building label (砼 reinforced concrete, 混 mixed…).
fn structure_short(fwjg: &str) -> &str {
    match fwjg {
        s if s.contains("钢筋混凝土") || s.contains("钢混") => "砼",
        s if s.contains("混") => "混",
        s if s.contains("砖木") => "砖",
        s if s.starts_with('钢') => "钢",
        s if s.contains('木') => "木",
        _ => "",
    }
}

fn ring_signed_area(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len();
    (0..n).map(|i| pts[i].0 * pts[(i + 1) % n].1 - pts[(i + 1) % n].0 * pts[i].1).sum::<f64>() / 2.0
}

impl ParcelMap {
    /// Prepares the map of parcel `zddm`.
    pub fn from_submission(sub: &Submission, zddm: &str) -> Result<Self, PrintError> {
        let parcel =
            sub.parcels.iter().find(|p| p.zddm == zddm).ok_or_else(|| PrintError::UnknownParcel(zddm.to_string()))?;
        if sub.crs.as_ref().is_some_and(|c| c.geographic) {
            return Err(PrintError::Invalid(
                "the data is in geographic degrees; a parcel map needs projected metres (CGCS2000 Gauss-Krüger)".into(),
            ));
        }
        let bbox = parcel
            .geometry
            .bounding_rect()
            .ok_or_else(|| PrintError::Invalid(format!("parcel {zddm} has no geometry")))?;
        // Parcels drawn: anything within the largest view the map could show (1:2000 on A3
        // is about 550 m across; larger scales are for parcels over 350 m).
        let grow = |r: &Rect<f64>, d: f64| {
            Rect::new(Coord { x: r.min().x - d, y: r.min().y - d }, Coord { x: r.max().x + d, y: r.max().y + d })
        };
        let near = grow(&bbox, (bbox.width().max(bbox.height()) * 1.5).max(300.0));
        let others: Vec<&crate::model::Parcel> = sub
            .parcels
            .iter()
            .filter(|p| p.zddm != zddm)
            .filter(|p| p.geometry.bounding_rect().is_some_and(|r| overlaps(&r, &near)))
            .collect();
        // Only parcels touching the parcel's box can share its boundary: 四至 from those.
        let touch = grow(&bbox, 0.5);
        let touching: Vec<usize> = (0..others.len())
            .filter(|&i| others[i].geometry.bounding_rect().is_some_and(|r| overlaps(&r, &touch)))
            .collect();
        let mut geoms: Vec<&MultiPolygon<f64>> = vec![&parcel.geometry];
        geoms.extend(touching.iter().map(|&i| &others[i].geometry));
        let bp = BoundaryPoints::derive(&geoms);
        let lines = BoundaryLines::build(&bp);
        let four = four_neighbours(&bp, &lines, &geoms);
        let codes: Vec<&str> = std::iter::once(zddm).chain(touching.iter().map(|&i| others[i].zddm.as_str())).collect();
        let own = &four[0];
        // Indices into `others` of the parcels sharing a boundary.
        let adjacent: Vec<usize> = [&own.north, &own.east, &own.south, &own.west]
            .iter()
            .flat_map(|l| l.iter())
            .filter_map(|n| match n {
                crate::boundary::Neighbour::Parcel(i) => touching.get(i.wrapping_sub(1)).copied(),
                crate::boundary::Neighbour::Open => None,
            })
            .collect();

        let mut points = Vec::new();
        let mut edges = Vec::new();
        let numbers: Vec<_> = number_per_parcel(&bp).into_iter().filter(|n| n.parcel == 0).collect();
        for (ring_no, group) in numbers.chunk_by(|a, b| (a.polygon, a.ring) == (b.polygon, b.ring)).enumerate() {
            let start = points.len();
            for n in group {
                let c = bp.coord(n.point);
                points.push(MapPoint {
                    jzdh: n.jzdh.clone(),
                    easting: c.x,
                    northing: c.y,
                    ring: ring_no,
                    hole: n.ring > 0,
                });
            }
            let len = group.len();
            for i in 0..len {
                let (a, b) = (start + i, start + (i + 1) % len);
                let (pa, pb) = (&points[a], &points[b]);
                edges.push(MapEdge {
                    from: a,
                    to: b,
                    length: (pb.easting - pa.easting).hypot(pb.northing - pa.northing),
                });
            }
        }
        let attrs = &parcel.attributes;
        let computed = {
            use geo::Area;
            parcel.geometry.unsigned_area()
        };
        let buildings = sub
            .buildings
            .iter()
            .filter(|b| b.zddm == zddm)
            .map(|b| {
                let number = b.zrzh.get(20..24).map(|s| s.trim_start_matches('0').to_string()).unwrap_or_default();
                let floors = b.attributes.zcs.or(b.attributes.dscs).map(|n| n.to_string()).unwrap_or_default();
                let label = format!("{}{floors}", structure_short(b.attributes.fwjg.as_deref().unwrap_or("")));
                MapBuilding { zrzh: b.zrzh.clone(), number, label, footprint: b.footprint.clone() }
            })
            .collect();
        let crs = match &sub.crs {
            Some(c) => match (c.epsg, c.gk_zone) {
                (Some(e), Some(_)) => format!("2000国家大地坐标系 EPSG:{e}"),
                (Some(e), None) => format!("EPSG:{e}"),
                _ => c.name.clone().unwrap_or_default(),
            },
            None => String::new(),
        };
        Ok(ParcelMap {
            zddm: zddm.to_string(),
            address: attrs.zl.clone().unwrap_or_default(),
            owner: ["QLR", "QLRMC", "权利人"].iter().find_map(|k| attrs.extra.get(k).cloned()).unwrap_or_default(),
            land_use: attrs.yt.as_deref().map(land_use_name).unwrap_or_default(),
            area: attrs.zdmj.unwrap_or((computed * 100.0).round() / 100.0),
            geometry: parcel.geometry.clone(),
            points,
            edges,
            four: [Direction::North, Direction::East, Direction::South, Direction::West]
                .map(|d| own.describe(d, &codes)),
            neighbours: others
                .iter()
                .enumerate()
                .map(|(i, p)| MapNeighbour {
                    zddm: p.zddm.clone(),
                    geometry: p.geometry.clone(),
                    adjacent: adjacent.contains(&i),
                })
                .collect(),
            buildings,
            crs,
        })
    }

    /// Rows of the coordinate table (界址点坐标表): 点号, X (northing), Y
    /// (easting), 边长 to the next point; each ring closes on its first point.
    pub fn coordinate_rows(&self) -> Vec<[String; 4]> {
        let mut rows = Vec::new();
        for (i, p) in self.points.iter().enumerate() {
            let e = self.edges.iter().find(|e| e.from == i);
            rows.push([
                p.jzdh.clone(),
                format!("{:.3}", p.northing),
                format!("{:.3}", p.easting),
                e.map(|e| format!("{:.2}", e.length)).unwrap_or_default(),
            ]);
            let last_of_ring = self.points.get(i + 1).is_none_or(|n| n.ring != p.ring);
            if last_of_ring {
                if let Some(first) = self.points.iter().find(|q| q.ring == p.ring) {
                    rows.push([
                        first.jzdh.clone(),
                        format!("{:.3}", first.northing),
                        format!("{:.3}", first.easting),
                        String::new(),
                    ]);
                }
            }
        }
        rows
    }

    /// Where things go on the page for these options.
    pub fn layout(&self, options: &SheetOptions) -> Result<MapLayout, PrintError> {
        let (w, h) = options.paper.size_mm();
        let bbox = self.geometry.bounding_rect().ok_or_else(|| PrintError::Invalid("empty parcel".into()))?;
        let rows = self.coordinate_rows().len() + 1;
        let frame_top = h - FORM_TOP - FORM_ROWS * FORM_ROW_H - 4.0;
        let frame_w = w - 2.0 * MARGIN;
        let table_h = rows as f64 * TABLE_ROW_H + 12.0;
        // The map keeps at least 55 % of the page height; the table takes the rest if it fits.
        let frame_h_min = (h * 0.5).min(frame_top - FOOTER_H - 4.0);
        let with_table = frame_top - FOOTER_H - 4.0 - table_h >= frame_h_min;
        let frame_h = if with_table { frame_top - FOOTER_H - 4.0 - table_h } else { frame_top - FOOTER_H - 4.0 };
        // Room for the point labels and lengths around the parcel.
        let (room_w, room_h) = (frame_w - 2.0 * LABEL_ROOM, frame_h - 2.0 * LABEL_ROOM);
        let scale = match options.scale {
            Some(s) => {
                if !fits(s, bbox.width(), bbox.height(), room_w, room_h) {
                    return Err(PrintError::DoesNotFit {
                        what: format!("parcel {}", self.zddm),
                        width: bbox.width(),
                        height: bbox.height(),
                        paper: options.paper,
                        scale: s,
                    });
                }
                s
            }
            None => fit_scale(&PARCEL_SCALES, bbox.width(), bbox.height(), room_w, room_h).ok_or_else(|| {
                PrintError::DoesNotFit {
                    what: format!("parcel {}", self.zddm),
                    width: bbox.width(),
                    height: bbox.height(),
                    paper: options.paper,
                    scale: PARCEL_SCALES[PARCEL_SCALES.len() - 1],
                }
            })?,
        };
        Ok(MapLayout {
            scale,
            frame: (MARGIN, frame_top - frame_h, frame_w, frame_h),
            table_on_first_page: with_table,
            centre: bbox.center(),
        })
    }

    /// The map as a PDF.
    pub fn to_pdf(&self, font: &PrintFont, options: &SheetOptions) -> Result<Vec<u8>, PrintError> {
        let layout = self.layout(options)?;
        let (w, h) = options.paper.size_mm();
        let settings = page_settings(options.paper)?;
        let mut doc = document(options);
        let rows = self.coordinate_rows();
        {
            let mut page = doc.start_page_with(settings.clone());
            let mut c = Canvas::new(page.surface(), font, h);
            self.draw_header(&mut c, w, h, layout.scale);
            self.draw_map(&mut c, &layout);
            if layout.table_on_first_page {
                let top = layout.frame.1 - 4.0;
                c.text(MARGIN, top - 3.5, 3.2, "界址点坐标表", Anchor::Left, 0.0);
                coordinate_table(&mut c, MARGIN, top - 5.0, w - 2.0 * MARGIN, &rows);
            }
            self.draw_footer(&mut c, w, options, layout.scale, 1, pages_needed(&layout, rows.len(), h));
            c.finish();
            page.finish();
        }
        if !layout.table_on_first_page {
            let per_page = ((h - 2.0 * MARGIN - 30.0) / TABLE_ROW_H) as usize - 1;
            let total = pages_needed(&layout, rows.len(), h);
            for (k, chunk) in rows.chunks(per_page.max(1)).enumerate() {
                let mut page = doc.start_page_with(settings.clone());
                let mut c = Canvas::new(page.surface(), font, h);
                c.text(w / 2.0, h - MARGIN - 8.0, 6.0, "界址点坐标表", Anchor::Centre, 0.0);
                c.text(MARGIN, h - MARGIN - 15.0, 3.2, &format!("宗地代码：{}", self.zddm), Anchor::Left, 0.0);
                coordinate_table(&mut c, MARGIN, h - MARGIN - 18.0, w - 2.0 * MARGIN, chunk);
                self.draw_footer(&mut c, w, options, layout.scale, k + 2, total);
                c.finish();
                page.finish();
            }
        }
        finish(doc)
    }

    fn draw_header(&self, c: &mut Canvas<'_, '_>, w: f64, h: f64, scale: u32) {
        c.text(w / 2.0, h - MARGIN - 8.0, 8.0, "宗 地 图", Anchor::Centre, 0.0);
        c.text(w - MARGIN, h - MARGIN - 8.0, 3.2, &format!("比例尺 1:{scale}"), Anchor::Right, 0.0);
        let top = h - FORM_TOP;
        let rows: Vec<Vec<(&str, String)>> = vec![
            vec![("宗地代码", self.zddm.clone()), ("宗地面积", format!("{:.2} m²", self.area))],
            vec![("权利人", self.owner.clone()), ("土地用途", self.land_use.clone())],
            vec![("坐落", self.address.clone())],
            vec![("北至", self.four[0].clone()), ("东至", self.four[1].clone())],
            vec![("南至", self.four[2].clone()), ("西至", self.four[3].clone())],
        ];
        form(c, MARGIN, top, w - 2.0 * MARGIN, &rows, FORM_ROW_H);
    }

    fn draw_footer(&self, c: &mut Canvas<'_, '_>, w: f64, o: &SheetOptions, scale: u32, page: usize, pages: usize) {
        let y = MARGIN + 2.0;
        c.text(MARGIN, y, 3.0, &format!("制图员：{}", o.surveyor), Anchor::Left, 0.0);
        c.text(MARGIN + 50.0, y, 3.0, &format!("制图日期：{}", o.date), Anchor::Left, 0.0);
        c.text(MARGIN + 100.0, y, 2.6, &self.crs, Anchor::Left, 0.0);
        c.text(w - MARGIN, y, 3.0, &format!("1:{scale}  第{page}页 共{pages}页"), Anchor::Right, 0.0);
    }

    fn draw_map(&self, c: &mut Canvas<'_, '_>, l: &MapLayout) {
        let (fx, fy, fw, fh) = l.frame;
        let k = 1000.0 / f64::from(l.scale);
        let (cx, cy) = (fx + fw / 2.0, fy + fh / 2.0);
        // Map metres relative to the parcel's centre, then millimetres: no large numbers reach f32.
        let to_page = |c: Coord<f64>| (cx + (c.x - l.centre.x) * k, cy + (c.y - l.centre.y) * k);
        let view = Rect::new(
            Coord { x: l.centre.x - fw / 2.0 / k, y: l.centre.y - fh / 2.0 / k },
            Coord { x: l.centre.x + fw / 2.0 / k, y: l.centre.y + fh / 2.0 / k },
        );
        c.rect(fx, fy, fw, fh, Pen::black(0.4));
        c.push_clip(fx, fy, fw, fh);
        let ring_pts =
            |ls: &geo_types::LineString<f64>| -> Vec<(f64, f64)> { ls.0.iter().map(|&p| to_page(p)).collect() };
        // Neighbours: thin grey outlines; adjacent ones get their codes.
        for n in &self.neighbours {
            if !n.geometry.bounding_rect().is_some_and(|r| overlaps(&r, &view)) {
                continue;
            }
            for p in &n.geometry.0 {
                for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                    c.ring(&ring_pts(r), Pen::grey(0.2, 110));
                }
            }
        }
        // The parcel, emphasised by a light fill.
        let rings: Vec<Vec<(f64, f64)>> = self
            .geometry
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(&ring_pts)
            .collect();
        c.fill(&rings, 245);
        for b in &self.buildings {
            for p in &b.footprint.0 {
                let pts = ring_pts(p.exterior());
                c.fill(std::slice::from_ref(&pts), 225);
                c.ring(&pts, Pen::black(0.3));
            }
            if let Some(ip) = b.footprint.interior_point() {
                let (x, y) = to_page(ip.0);
                c.text_mid(x, y + 2.0, 3.2, &b.number, 0.0);
                c.text_mid(x, y - 2.0, 2.6, &b.label, 0.0);
            }
        }
        for r in &rings {
            c.ring(r, Pen::black(0.5));
        }
        for n in self.neighbours.iter().filter(|n| n.adjacent) {
            let visible = n.geometry.intersection(&view.to_polygon());
            if let Some(ip) = visible.interior_point() {
                let (x, y) = to_page(ip.0);
                c.text_mid(x, y, 2.4, &n.zddm, 0.0);
            }
        }
        // The parcel's own label: code over land-use code, area below, away from the buildings.
        let free = if self.buildings.is_empty() {
            self.geometry.clone()
        } else {
            let blds: Vec<Polygon<f64>> = self.buildings.iter().flat_map(|b| b.footprint.0.clone()).collect();
            self.geometry.difference(&MultiPolygon::new(blds))
        };
        if let Some(ip) = roomiest_point(&free).or_else(|| self.geometry.interior_point().map(|p| p.0)) {
            let (x, y) = to_page(ip);
            let top = self.zddm.get(12..).unwrap_or(&self.zddm);
            let yt = self.land_use.split(' ').next().unwrap_or("");
            let wd = c.text_width(top, 3.2).max(c.text_width(yt, 3.2)) + 2.0;
            c.text_mid(x, y + 2.4, 3.2, top, 0.0);
            c.line(&[(x - wd / 2.0, y), (x + wd / 2.0, y)], Pen::black(0.25));
            c.text_mid(x, y - 2.4, 3.2, yt, 0.0);
            c.text_mid(x, y - 6.6, 3.0, &format!("{:.2}", self.area), 0.0);
        }
        self.draw_points_and_lengths(c, &to_page);
        c.pop();
        north_arrow(c, fx + fw - 10.0, fy + fh - 16.0, 9.0, 0.0);
        scale_bar(c, fx + 8.0, fy + 8.0, l.scale, 40.0);
    }

    fn draw_points_and_lengths(&self, c: &mut Canvas<'_, '_>, to_page: &dyn Fn(Coord<f64>) -> (f64, f64)) {
        let page: Vec<(f64, f64)> =
            self.points.iter().map(|p| to_page(Coord { x: p.easting, y: p.northing })).collect();
        // A ring's outside: left of travel for a clockwise ring (holes run clockwise too, their
        // outside-of-parcel is the hole's inside, which is the right of travel).
        for ring in 0..=self.points.iter().map(|p| p.ring).max().unwrap_or(0) {
            let ix: Vec<usize> = (0..self.points.len()).filter(|&i| self.points[i].ring == ring).collect();
            if ix.len() < 3 {
                continue;
            }
            let pts: Vec<(f64, f64)> = ix.iter().map(|&i| page[i]).collect();
            let is_hole = self.points[ix[0]].hole;
            let cw = ring_signed_area(&pts) < 0.0;
            // +1: outward normal on the left of travel
            let side = if cw != is_hole { 1.0 } else { -1.0 };
            let n = pts.len();
            let normal = |a: (f64, f64), b: (f64, f64)| {
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let len = dx.hypot(dy).max(1e-9);
                (-dy / len * side, dx / len * side)
            };
            for k in 0..n {
                let (prev, cur, next) = (pts[(k + n - 1) % n], pts[k], pts[(k + 1) % n]);
                let (n1, n2) = (normal(prev, cur), normal(cur, next));
                let (bx, by) = (n1.0 + n2.0, n1.1 + n2.1);
                let bl = bx.hypot(by).max(1e-9);
                c.dot(cur.0, cur.1, 0.6, 0);
                let (lx, ly) = (cur.0 + bx / bl * 3.2, cur.1 + by / bl * 3.2);
                c.text_mid(lx, ly, 2.8, &self.points[ix[k]].jzdh, 0.0);
                // Edge length: along the edge, just inside the parcel, upright.
                let e = self.edges.iter().find(|e| e.from == ix[k]);
                if let Some(e) = e {
                    let (mx, my) = ((cur.0 + next.0) / 2.0, (cur.1 + next.1) / 2.0);
                    let mut ang = (next.1 - cur.1).atan2(next.0 - cur.0).to_degrees();
                    if ang > 90.0 {
                        ang -= 180.0;
                    } else if ang <= -90.0 {
                        ang += 180.0;
                    }
                    let (ox, oy) = (mx - n2.0 * 2.0, my - n2.1 * 2.0);
                    c.text_mid(ox, oy, 2.4, &format!("{:.2}", e.length), ang);
                }
            }
        }
    }
}

/// The page layout chosen for a parcel map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapLayout {
    /// Scale denominator.
    pub scale: u32,
    /// Map frame: left, bottom, width, height (mm).
    pub frame: (f64, f64, f64, f64),
    /// Whether the coordinate table is on page 1 (else on the pages after it).
    pub table_on_first_page: bool,
    /// Map point at the frame's centre.
    pub centre: Coord<f64>,
}

const MARGIN: f64 = 12.0;
const FORM_TOP: f64 = 26.0;
const FORM_ROWS: f64 = 5.0;
const FORM_ROW_H: f64 = 7.0;
const FOOTER_H: f64 = 16.0;
const TABLE_ROW_H: f64 = 5.0;
/// Space kept between the parcel and the frame for J labels and lengths, mm.
const LABEL_ROOM: f64 = 10.0;

fn pages_needed(l: &MapLayout, rows: usize, h: f64) -> usize {
    if l.table_on_first_page {
        1
    } else {
        let per_page = (((h - 2.0 * MARGIN - 30.0) / TABLE_ROW_H) as usize - 1).max(1);
        1 + rows.div_ceil(per_page)
    }
}

fn coordinate_table(c: &mut Canvas<'_, '_>, x: f64, top: f64, width: f64, rows: &[[String; 4]]) {
    let mut all = vec![vec!["界址点号".to_string(), "X (m)".into(), "Y (m)".into(), "边长 (m)".into()]];
    all.extend(rows.iter().map(|r| r.to_vec()));
    let widths = [width * 0.16, width * 0.3, width * 0.3, width * 0.24];
    table(c, x, top, &widths, &all, TableStyle { row_h: TABLE_ROW_H, size: 3.0, header: true });
}

fn overlaps(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x && b.min().x <= a.max().x && a.min().y <= b.max().y && b.min().y <= a.max().y
}

/// The point of a grid over the shape farthest from its boundary (an
/// approximate pole of inaccessibility): where a label has the most room.
fn roomiest_point(shape: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    use geo::{Contains, Distance, Euclidean};
    let bbox = shape.bounding_rect()?;
    let edges: Vec<geo_types::Line<f64>> = shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.lines())
        .collect();
    let n = 24;
    let mut best: Option<(f64, Coord<f64>)> = None;
    for i in 0..n {
        for j in 0..n {
            let c = Coord {
                x: bbox.min().x + bbox.width() * (f64::from(i) + 0.5) / f64::from(n),
                y: bbox.min().y + bbox.height() * (f64::from(j) + 0.5) / f64::from(n),
            };
            let p = geo_types::Point(c);
            if !shape.contains(&p) {
                continue;
            }
            let d = edges.iter().map(|e| Euclidean.distance(&p, e)).fold(f64::INFINITY, f64::min);
            if best.is_none_or(|(bd, _)| d > bd) {
                best = Some((d, c));
            }
        }
    }
    best.map(|(_, c)| c)
}
