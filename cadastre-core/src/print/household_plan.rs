//! The household plan (分户图): one household on its floor with its
//! neighbours, the length of each wall, areas, floor, room and address.

use super::canvas::{Anchor, Canvas, Pen};
use super::furniture::{fitted_label, form, north_arrow, scale_bar, shrink_to};
use super::{document, finish, fit_scale, fits, page_settings, PrintError, PrintFont, SheetOptions};
use crate::apportion::{Apportion, Area};
use crate::building::{floor_name, read_csv, BuildingTable, Editor, Household};
use crate::floorplan::{FloorPlan, FloorPlanFloor, HouseholdAreas, Outline};
use geo::InteriorPoint;
use std::path::Path;

/// Scales of household plans, largest first.
pub const PLAN_SCALES: [u32; 6] = [50, 100, 200, 250, 500, 1000];

/// The areas printed on a household plan.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdAreasText {
    /// 套内建筑面积 from the plan.
    pub inner: Area,
    /// 分摊共有建筑面积, when the plan covers the whole building so the
    /// apportionment could run.
    pub shared: Option<Area>,
    /// 建筑面积 = 套内 + 分摊.
    pub total: Option<Area>,
    /// 分摊系数.
    pub coefficient: Option<f64>,
}

/// Everything a household plan shows.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdSheet {
    /// 不动产单元号, or the HH when no code is allocated yet.
    pub unit_code: String,
    /// The household's row of the building table.
    pub household: Household,
    /// Its floor in the plan.
    pub floor: FloorPlanFloor,
    /// Its areas in detail (walls, balconies).
    pub detail: HouseholdAreas,
    /// Areas as printed.
    pub areas: HouseholdAreasText,
    /// Why the shared area is missing, when it is.
    pub note: Option<String>,
    /// Angle of local north, degrees counter-clockwise from the page's up.
    pub north: f64,
}

impl HouseholdSheet {
    /// The sheet of household `code` (28-char BDCDYH or 4-digit HH).
    pub fn new(plan: &FloorPlan, table: &BuildingTable, code: &str) -> Result<Self, PrintError> {
        let household = table
            .current()
            .find(|h| h.unit_code.as_deref() == Some(code) || h.hh == code)
            .ok_or_else(|| {
                PrintError::UnknownHousehold(format!("{code} (not in the building table of {})", table.zrzh))
            })?
            .clone();
        let (floor, _) = plan.household(&household.hh).ok_or_else(|| {
            PrintError::UnknownHousehold(format!("{code} (household {} is not drawn on the floor plan)", household.hh))
        })?;
        let floor = floor.clone();
        let fa = plan.floor_areas_in(&floor.ljzh, floor.floor).map_err(|e| PrintError::Invalid(e.to_string()))?;
        let detail = fa
            .households
            .iter()
            .find(|h| h.hh == household.hh)
            .cloned()
            .ok_or_else(|| PrintError::UnknownHousehold(code.to_string()))?;
        let inner = crate::floorplan::round_area(detail.inner_area);
        let (areas, note) = match plan
            .apportion_input(table)
            .and_then(|i| i.apportion().map_err(|e| crate::floorplan::FloorPlanError::Table(e.to_string())))
        {
            Ok(result) => {
                let u = result.units.iter().find(|u| &*u.id == household.hh.as_str());
                (
                    HouseholdAreasText {
                        inner,
                        shared: u.map(|u| u.apportioned),
                        total: u.map(|u| u.building_area),
                        coefficient: u.map(|u| u.coefficient),
                    },
                    None,
                )
            }
            Err(e) => {
                let missing = plan.missing_from(table);
                let note = if missing.is_empty() {
                    format!("分摊未计算：{e}")
                } else {
                    let shown: Vec<&str> = missing.iter().take(6).map(String::as_str).collect();
                    let more = if missing.len() > shown.len() { "…" } else { "" };
                    format!(
                        "分摊未计算：楼盘表中 {} 户未画入分层分户图（户号 {}{more}）",
                        missing.len(),
                        shown.join("、")
                    )
                };
                (HouseholdAreasText { inner, shared: None, total: None, coefficient: None }, Some(note))
            }
        };
        Ok(HouseholdSheet {
            unit_code: household.unit_code.clone().unwrap_or_else(|| household.hh.clone()),
            household,
            floor,
            detail,
            areas,
            note,
            north: -plan.placement.map_or(0.0, |p| p.rotation),
        })
    }

    /// The sheet of a household of a district folder: `buildings/<ZRZH>.csv`
    /// (the building table) and `buildings/<ZRZH>.floorplan.json` (the plan),
    /// ZRZH being the first 24 characters of the unit code.
    pub fn from_folder(dir: &Path, bdcdyh: &str) -> Result<Self, PrintError> {
        let code = bdcdyh.trim();
        let unit: unit_code::UnitCode = code.parse().map_err(|e| PrintError::Invalid(format!("{code:?}: {e}")))?;
        let zrzh = unit.building().ok_or_else(|| {
            PrintError::Invalid(format!(
                "{code:?} 不是房屋（定着物特征码 F）的不动产单元代码，没有分户图 / is not the unit code of a house \
                 (fixture code F): it has no household plan"
            ))
        })?;
        let buildings = dir.join("buildings");
        let csv_path = buildings.join(format!("{zrzh}.csv"));
        let plan_path = buildings.join(format!("{zrzh}.floorplan.json"));
        let csv = std::fs::read(&csv_path)
            .map_err(|e| PrintError::Invalid(format!("building table {}: {e}", csv_path.display())))?;
        let (table, _) = read_csv(&csv, &Editor { who: "print".into(), at: chrono::DateTime::UNIX_EPOCH })
            .map_err(|e| PrintError::Invalid(format!("building table {}: {e}", csv_path.display())))?;
        let text = std::fs::read_to_string(&plan_path)
            .map_err(|e| PrintError::Invalid(format!("floor plan {}: {e}", plan_path.display())))?;
        let plan = FloorPlan::from_json(&text)
            .map_err(|e| PrintError::Invalid(format!("floor plan {}: {e}", plan_path.display())))?;
        Self::new(&plan, &table, code)
    }

    /// The local extent of the drawn floor: (min x, min y, max x, max y).
    fn extent(&self) -> (f64, f64, f64, f64) {
        let all = self
            .floor
            .households
            .iter()
            .flat_map(|h| std::iter::once(&h.outline).chain(h.balconies.iter().map(|b| &b.outline)))
            .chain(self.floor.shared.iter().map(|s| &s.outline));
        all.flat_map(|o| o.0.iter())
            .fold((f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY), |(a, b, c, d), p| {
                (a.min(p[0]), b.min(p[1]), c.max(p[0]), d.max(p[1]))
            })
    }

    /// The scale the plan is drawn at for these options.
    pub fn scale(&self, options: &SheetOptions) -> Result<u32, PrintError> {
        let (w, h) = options.paper.size_mm();
        let (fw, fh) = (w - 2.0 * MARGIN - 2.0 * DIM_ROOM, frame_height(h) - 2.0 * DIM_ROOM);
        let (x0, y0, x1, y1) = self.extent();
        let (ew, eh) = (x1 - x0, y1 - y0);
        let too_big = |scale| PrintError::DoesNotFit {
            what: format!("floor {}", self.floor.floor),
            width: ew,
            height: eh,
            paper: options.paper,
            scale,
        };
        match options.scale {
            Some(s) if fits(s, ew, eh, fw, fh) => Ok(s),
            Some(s) => Err(too_big(s)),
            None => fit_scale(&PLAN_SCALES, ew, eh, fw, fh).ok_or_else(|| too_big(PLAN_SCALES[PLAN_SCALES.len() - 1])),
        }
    }

    /// The plan as a one-page PDF.
    pub fn to_pdf(&self, font: &PrintFont, options: &SheetOptions) -> Result<Vec<u8>, PrintError> {
        let scale = self.scale(options)?;
        let (w, h) = options.paper.size_mm();
        let settings = page_settings(options.paper)?;
        let mut doc = document(options);
        {
            let mut page = doc.start_page_with(settings);
            let mut c = Canvas::new(page.surface(), font, h);
            self.draw_header(&mut c, w, h);
            self.draw_plan(&mut c, w, h, scale);
            let y = MARGIN + 2.0;
            c.text(MARGIN, y, 3.0, &format!("制图员：{}", options.surveyor), Anchor::Left, 0.0);
            c.text(MARGIN + 50.0, y, 3.0, &format!("制图日期：{}", options.date), Anchor::Left, 0.0);
            c.text(w - MARGIN, y, 3.0, &format!("比例尺 1:{scale}  面积单位 m²，边长单位 m"), Anchor::Right, 0.0);
            c.finish();
            page.finish();
        }
        finish(doc)
    }

    fn draw_header(&self, c: &mut Canvas<'_, '_>, w: f64, h: f64) {
        let hh = &self.household;
        c.text(w / 2.0, h - MARGIN - 8.0, 8.0, "房 屋 分 户 图", Anchor::Centre, 0.0);
        let area_text = |a: Option<Area>| a.map_or("—".to_string(), |a| format!("{a} m²"));
        let rows: Vec<Vec<(&str, String)>> = vec![
            vec![("不动产单元号", self.unit_code.clone())],
            vec![("坐落", hh.address.clone())],
            vec![
                ("所在层次", format!("{}（实际层 {}）", floor_name(hh.floor), hh.physical)),
                ("室号", hh.room.clone()),
            ],
            vec![("房屋结构", hh.structure.clone()), ("房屋用途", hh.usage.clone())],
            vec![("套内建筑面积", format!("{} m²", self.areas.inner)), ("分摊建筑面积", area_text(self.areas.shared))],
            vec![
                ("建筑面积", area_text(self.areas.total)),
                ("分摊系数", self.areas.coefficient.map_or("—".into(), |k| format!("{k:.6}"))),
            ],
        ];
        let bottom = form(c, MARGIN, h - FORM_TOP, w - 2.0 * MARGIN, &rows, FORM_ROW_H);
        if let Some(note) = &self.note {
            let room = w - 2.0 * MARGIN;
            let size = shrink_to(c, note, 2.6, room);
            // Still too long (an error message): cut it, the whole text is in `note`.
            let mut shown: String = note.clone();
            while c.text_width(&shown, size) > room && shown.chars().count() > 1 {
                shown.pop();
                shown.pop();
                shown.push('…');
            }
            c.text(MARGIN, bottom - 4.0, size, &shown, Anchor::Left, 0.0);
        }
    }

    fn draw_plan(&self, c: &mut Canvas<'_, '_>, w: f64, h: f64, scale: u32) {
        let fh = frame_height(h);
        let (fx, fy, fw) = (MARGIN, FOOTER_H + 2.0, w - 2.0 * MARGIN);
        c.rect(fx, fy, fw, fh, Pen::black(0.4));
        let k = 1000.0 / f64::from(scale);
        let (x0, y0, x1, y1) = self.extent();
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let to_page = |p: [f64; 2]| (fx + fw / 2.0 + (p[0] - cx) * k, fy + fh / 2.0 + (p[1] - cy) * k);
        let pts = |o: &Outline| -> Vec<(f64, f64)> { o.0.iter().map(|&p| to_page(p)).collect() };
        let mid = |o: &Outline| interior(o).map(to_page);
        // Page extent of an outline, for fitting its label.
        let size = |o: &Outline| {
            let (a, b, cc, d) =
                o.0.iter()
                    .fold((f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY), |(a, b, cc, d), p| {
                        (a.min(p[0]), b.min(p[1]), cc.max(p[0]), d.max(p[1]))
                    });
            ((cc - a) * k, (d - b) * k)
        };
        for s in &self.floor.shared {
            c.fill(&[pts(&s.outline)], 232);
            c.ring(&pts(&s.outline), Pen::black(0.25));
            if let Some((x, y)) = mid(&s.outline) {
                let name = if s.name.is_empty() { s.kind.label() } else { s.name.as_str() };
                let (sw, sh) = size(&s.outline);
                fitted_label(c, x, y, sw, sh, name, 2.6);
            }
        }
        for hp in &self.floor.households {
            let own = hp.hh == self.household.hh;
            for b in &hp.balconies {
                c.ring(&pts(&b.outline), Pen { width: 0.25, grey: 0, dash: Some((1.2, 0.8)) });
                if own {
                    if let Some((x, y)) = mid(&b.outline) {
                        let (bw, bh) = size(&b.outline);
                        let label = if b.enclosed { "阳台(封闭)" } else { "阳台(未封闭)" };
                        fitted_label(c, x, y, bw, bh, label, 2.2);
                    }
                }
            }
            if own {
                c.fill(&[pts(&hp.outline)], 210);
            }
            c.ring(&pts(&hp.outline), if own { Pen::black(0.6) } else { Pen::black(0.25) });
            if let Some((x, y)) = mid(&hp.outline) {
                c.text_mid(x, y + (if own { 2.2 } else { 0.0 }), if own { 3.6 } else { 2.8 }, &hp.room, 0.0);
                if own {
                    c.text_mid(x, y - 2.6, 2.6, &format!("套内 {} m²", self.areas.inner), 0.0);
                }
            }
        }
        // Dimensions along each wall of the household, outside it.
        for seg in &self.detail.walls {
            let (a, b) = (to_page(seg.from), to_page(seg.to));
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = dx.hypot(dy);
            if len < 1e-6 {
                continue;
            }
            // counter-clockwise walls: the outside is on the right
            let (nx, ny) = (dy / len, -dx / len);
            let off = 2.0;
            let (a2, b2) = ((a.0 + nx * off, a.1 + ny * off), (b.0 + nx * off, b.1 + ny * off));
            c.line(&[a2, b2], Pen::black(0.15));
            for p in [a2, b2] {
                c.line(&[(p.0 - nx * 0.8, p.1 - ny * 0.8), (p.0 + nx * 0.8, p.1 + ny * 0.8)], Pen::black(0.15));
            }
            let mut ang = dy.atan2(dx).to_degrees();
            if ang > 90.0 {
                ang -= 180.0;
            } else if ang <= -90.0 {
                ang += 180.0;
            }
            let (mx, my) = ((a2.0 + b2.0) / 2.0 + nx * 1.8, (a2.1 + b2.1) / 2.0 + ny * 1.8);
            c.text_mid(mx, my, 2.4, &format!("{:.2}", seg.length), ang);
        }
        north_arrow(c, fx + fw - 10.0, fy + fh - 16.0, 9.0, self.north);
        scale_bar(c, fx + 8.0, fy + 8.0, scale, 30.0);
    }
}

const MARGIN: f64 = 12.0;
const FORM_TOP: f64 = 26.0;
const FORM_ROW_H: f64 = 7.0;
const FOOTER_H: f64 = 18.0;
/// Space for the wall dimensions around the drawing, mm.
const DIM_ROOM: f64 = 12.0;

fn frame_height(h: f64) -> f64 {
    h - FORM_TOP - 6.0 * FORM_ROW_H - 8.0 - FOOTER_H - 2.0
}

/// A point inside an outline, for its label.
pub(crate) fn interior(o: &Outline) -> Option<[f64; 2]> {
    o.to_polygon().interior_point().map(|p| [p.x(), p.y()])
}
