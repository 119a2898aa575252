//! 分层分户图 panel: per logical building (逻辑幢) and nominal floor (with the
//! physical floors it spans), draw each household's outline (from the building
//! table's households of that floor of that logical building), the shared
//! spaces and the balconies; edit the selected outline's corners (move, insert, delete, with
//! the floor's snapping); see 套内 (with its wall and balcony parts) as
//! `cadastre-core::floorplan` computes it; copy a floor to standard floors;
//! print the 分户图.

use cadastre_core::apportion::Serves;
use cadastre_core::floorplan::{
    Balcony, FloorAreas, FloorPlanFloor, HouseholdPlan, LocalPoint, Outline, SharedKind, SharedSpace,
};
use geo::Contains;

use super::floor_canvas::{CanvasEvent, CanvasInput, FloorCanvas};
use super::UnitsCx;
use crate::model::units::{ops, plan_edit, BuildingUnits, FloorKey};

/// What the next drawn ring becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum DrawTarget {
    /// The outline of household HH.
    Household(String),
    /// A new shared space.
    Shared(SharedKind),
    /// A balcony of household HH (enclosed: full area).
    Balcony(String, bool),
}

/// The floors of the table's current households: per logical building, top down.
pub fn floors_of(u: &BuildingUnits) -> Vec<FloorKey> {
    let mut f: Vec<FloorKey> = u.table.current().map(|h| FloorKey::new(&h.ljzh, h.floor)).collect();
    f.sort_unstable_by(|a, b| a.ljzh.cmp(&b.ljzh).then(b.floor.cmp(&a.floor)));
    f.dedup();
    f
}

/// Whether the table has households in more than one logical building.
fn several_logical(u: &BuildingUnits) -> bool {
    let mut l = u.table.current().map(|h| &h.ljzh);
    let first = l.next();
    l.any(|x| Some(x) != first)
}

/// The physical floors (实际层) of a floor, from its households: "4-5", or
/// "4-5/4" when they differ.
pub fn physical_of(u: &BuildingUnits, key: &FloorKey) -> String {
    let mut p: Vec<String> = on_floor(u, key).map(|h| h.physical.to_string()).collect();
    p.sort();
    p.dedup();
    p.join("/")
}

/// The table's current households on a floor.
fn on_floor<'a>(
    u: &'a BuildingUnits,
    key: &'a FloorKey,
) -> impl Iterator<Item = &'a cadastre_core::building::Household> + 'a {
    u.table.current().filter(move |h| h.floor == key.floor && h.ljzh == key.ljzh)
}

/// "第4层 · 实际层 4-5", with "逻辑幢2 " in front when the table has several.
pub fn floor_label(u: &BuildingUnits, key: &FloorKey) -> String {
    let floor = format!("{} · 实际层 {}", cadastre_core::building::floor_name(key.floor), physical_of(u, key));
    if several_logical(u) {
        format!("逻辑幢{} {floor}", key.ljzh)
    } else {
        floor
    }
}

/// The rings of a selected household (its outline and balconies) or shared space.
pub fn selected_rings(f: Option<&FloorPlanFloor>, selected: Option<&str>) -> Vec<Vec<LocalPoint>> {
    let (Some(f), Some(sel)) = (f, selected) else { return Vec::new() };
    if let Some(h) = f.households.iter().find(|h| h.hh == sel) {
        return std::iter::once(h.outline.0.clone()).chain(h.balconies.iter().map(|b| b.outline.0.clone())).collect();
    }
    f.shared.iter().filter(|s| s.id == sel).map(|s| s.outline.0.clone()).collect()
}

/// Parse "2-6" or "2,3,5" (no floor 0).
pub fn parse_floors(text: &str) -> Result<Vec<i32>, String> {
    let mut out = Vec::new();
    for part in text.split([',', '，', ' ']).filter(|s| !s.trim().is_empty()) {
        let p = part.trim();
        let range = p.char_indices().skip(1).find(|&(_, c)| c == '-').map(|(i, _)| (&p[..i], &p[i + 1..]));
        let (a, b) = range.unwrap_or((p, p));
        let (a, b): (i32, i32) = (a.parse().map_err(|_| format!("{p}?"))?, b.parse().map_err(|_| format!("{p}?"))?);
        out.extend((a.min(b)..=a.max(b)).filter(|&f| f != 0));
    }
    if out.is_empty() {
        return Err("no floors / 未给楼层".into());
    }
    Ok(out)
}

/// The floor with `ring` applied as `target` (a new floor when none is drawn).
pub fn apply_ring(
    u: &BuildingUnits,
    key: &FloorKey,
    target: &DrawTarget,
    ring: Vec<LocalPoint>,
) -> Result<FloorPlanFloor, String> {
    let mut f = u.plan.floor_in(&key.ljzh, key.floor).cloned().unwrap_or(FloorPlanFloor {
        ljzh: key.ljzh.clone(),
        floor: key.floor,
        households: Vec::new(),
        shared: Vec::new(),
    });
    let outline = Outline(ring);
    match target {
        DrawTarget::Household(hh) => {
            let h = u.table.get(hh).ok_or_else(|| format!("no household {hh}"))?;
            match f.households.iter_mut().find(|p| p.hh == *hh) {
                Some(p) => p.outline = outline,
                None => f.households.push(HouseholdPlan {
                    hh: hh.clone(),
                    room: h.room.clone(),
                    stair_unit: h.stair_unit.clone(),
                    outline,
                    balconies: Vec::new(),
                }),
            }
        }
        DrawTarget::Shared(kind) => {
            let n =
                (1..).find(|n| !f.shared.iter().any(|s| s.id == format!("{kind:?}{n}").to_lowercase())).unwrap_or(1);
            f.shared.push(SharedSpace {
                id: format!("{kind:?}{n}").to_lowercase(),
                kind: *kind,
                name: String::new(),
                outline,
                serves: Serves { building: Some(true), ..Serves::default() },
            });
        }
        DrawTarget::Balcony(hh, enclosed) => {
            let p = f
                .households
                .iter_mut()
                .find(|p| p.hh == *hh)
                .ok_or_else(|| format!("draw household {hh} first / 先画该户"))?;
            p.balconies.push(Balcony { outline, enclosed: *enclosed });
        }
    }
    Ok(f)
}

/// The household or shared space under a point.
pub fn pick(f: &FloorPlanFloor, at: LocalPoint) -> Option<String> {
    let p = geo_types::Point::new(at[0], at[1]);
    f.households
        .iter()
        .find(|h| h.outline.to_polygon().contains(&p))
        .map(|h| h.hh.clone())
        .or_else(|| f.shared.iter().find(|s| s.outline.to_polygon().contains(&p)).map(|s| s.id.clone()))
}

/// The floor-plan panel.
#[derive(Default)]
pub struct FloorPanel {
    /// Floor shown (logical building, nominal floor).
    pub floor: Option<FloorKey>,
    /// What drawing makes (None: pick).
    pub target: Option<DrawTarget>,
    /// Selected household HH or shared id.
    pub selected: Option<String>,
    /// "Copy to floors" text.
    pub copy_to: String,
    /// The canvas.
    pub canvas: FloorCanvas,
}

impl FloorPanel {
    /// Draw the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, zrzh: &Option<String>) {
        let lang = cx.lang;
        let Some(u) = cx.units(zrzh).cloned() else {
            ui.label(lang.t("先新建或导入楼盘表。", "Create or import a building table first."));
            return;
        };
        let zrzh = u.table.zrzh.clone();
        let floors = floors_of(&u);
        if self.floor.as_ref().is_none_or(|f| !floors.contains(f)) {
            // The first logical building's lowest floor.
            self.floor = floors.iter().take_while(|k| floors.first().is_some_and(|f| f.ljzh == k.ljzh)).last().cloned();
        }
        let Some(floor) = self.floor.clone() else {
            ui.label(lang.t("楼盘表没有户：先生成楼盘表。", "The table has no households: generate it first."));
            return;
        };
        let areas = u.plan.floor_areas_in(&floor.ljzh, floor.floor).ok();
        egui::Panel::left("floor-side").default_size(300.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| self.side(ui, cx, &u, &floors, areas.as_ref()));
        });
        let plan_floor = u.plan.floor_in(&floor.ljzh, floor.floor);
        let drawing = self.target.is_some();
        let input = CanvasInput {
            key: (zrzh.clone(), floor.clone()),
            floor: plan_floor,
            areas: areas.as_ref(),
            drawing,
            highlight: self.selected.as_deref(),
            editable: if drawing { Vec::new() } else { selected_rings(plan_floor, self.selected.as_deref()) },
        };
        let event = self.canvas.ui(ui, input);
        self.on_event(cx, &u, &floor, event);
    }

    /// What the canvas reported: pick, close a ring, or edit a corner.
    pub fn on_event(&mut self, cx: &mut UnitsCx<'_>, u: &BuildingUnits, floor: &FloorKey, event: CanvasEvent) {
        let current = u.plan.floor_in(&floor.ljzh, floor.floor);
        let edited = match event {
            CanvasEvent::None => return,
            CanvasEvent::Picked(at) => {
                self.selected = current.and_then(|f| pick(f, at));
                return;
            }
            CanvasEvent::Closed(ring) => return self.closed(cx, u, floor, ring),
            CanvasEvent::VertexMoved(from, to) => current
                .ok_or_else(String::new)
                .and_then(|f| plan_edit::move_vertex(f, from, to))
                .map(|f| (f, "移动顶点 / move corner")),
            CanvasEvent::VertexInserted(at) => current
                .ok_or_else(String::new)
                .and_then(|f| plan_edit::insert_vertex(f, at))
                .map(|f| (f, "插入顶点 / insert corner")),
            CanvasEvent::VertexDeleted(at) => current
                .ok_or_else(String::new)
                .and_then(|f| plan_edit::delete_vertex(f, at))
                .map(|f| (f, "删除顶点 / delete corner")),
        };
        match edited {
            Ok((f, label)) => {
                cx.push(set_floor(cx, u, floor, Some(f), label));
            }
            Err(e) => cx.message(e),
        }
    }

    /// A ring was closed on the canvas: make it the target's outline.
    pub fn closed(&mut self, cx: &mut UnitsCx<'_>, u: &BuildingUnits, floor: &FloorKey, ring: Vec<LocalPoint>) {
        let Some(target) = self.target.clone() else { return };
        match apply_ring(u, floor, &target, ring) {
            Ok(f) => {
                let label = match target {
                    DrawTarget::Household(_) => "绘制户 / draw household",
                    DrawTarget::Shared(_) => "绘制共有部位 / draw shared space",
                    DrawTarget::Balcony(..) => "绘制阳台 / draw balcony",
                };
                if cx.push(set_floor(cx, u, floor, Some(f), label)) {
                    if let DrawTarget::Household(hh) = target {
                        self.selected = Some(hh);
                    }
                    self.target = None;
                }
            }
            Err(e) => cx.message(e),
        }
    }

    fn side(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut UnitsCx<'_>,
        u: &BuildingUnits,
        floors: &[FloorKey],
        areas: Option<&FloorAreas>,
    ) {
        let lang = cx.lang;
        let zrzh = u.table.zrzh.as_str();
        let Some(floor) = self.floor.clone() else { return };
        let mut chosen = None;
        ui.horizontal(|ui| {
            let l = ui.label(lang.t("楼层", "Floor"));
            egui::ComboBox::from_id_salt("floor-no")
                .selected_text(floor_label(u, &floor))
                .show_ui(ui, |ui| {
                    for f in floors {
                        if ui.selectable_label(*f == floor, floor_label(u, f)).clicked() {
                            chosen = Some(f.clone());
                        }
                    }
                })
                .response
                .labelled_by(l.id);
        });
        if let Some(f) = chosen {
            self.floor = Some(f);
            self.canvas.reset_gesture();
        }
        ui.label(lang.t(
            "点击户后在图上逐点绘制，点回起点或回车闭合。选中轮廓后拖动顶点移动，双击墙线插入顶点，Delete 删除顶点。",
            "Pick a household, then click its corners; click the first point or press Enter to close. \
             A selected outline's corners drag; double-click a wall to insert one, Delete removes the active one.",
        ));
        ui.strong(lang.t("本层的户", "Households on this floor"));
        let mut clicked = None;
        egui::Grid::new("floor-households").striped(true).show(ui, |ui| {
            for h in on_floor(u, &floor) {
                let name = format!("{} {}", h.room, h.hh);
                let inner = areas.and_then(|a| a.households.iter().find(|x| x.hh == h.hh));
                let drawing = self.target == Some(DrawTarget::Household(h.hh.clone()));
                if ui.selectable_label(drawing || self.selected.as_deref() == Some(&h.hh), name).clicked() {
                    clicked = Some(h.hh.clone());
                }
                match inner {
                    Some(a) => ui.label(format!("{:.2}", a.inner_area)),
                    None => ui.weak(lang.t("未画", "not drawn")),
                };
                ui.end_row();
            }
        });
        if let Some(hh) = clicked {
            self.pick_household(u, &floor, hh);
        }
        ui.horizontal_wrapped(|ui| {
            for kind in
                [SharedKind::Corridor, SharedKind::Stairwell, SharedKind::Lift, SharedKind::Hall, SharedKind::Other]
            {
                if ui.selectable_label(self.target == Some(DrawTarget::Shared(kind)), kind.label()).clicked() {
                    self.target = Some(DrawTarget::Shared(kind));
                    self.canvas.reset_gesture();
                }
            }
        });
        if let Some(hh) = self.selected.clone().filter(|s| u.table.get(s).is_some()) {
            ui.horizontal(|ui| {
                if ui.button(lang.t("重画轮廓", "Redraw outline")).clicked() {
                    self.target = Some(DrawTarget::Household(hh.clone()));
                    self.canvas.reset_gesture();
                }
                if ui.button(lang.t("画封闭阳台", "Enclosed balcony")).clicked() {
                    self.target = Some(DrawTarget::Balcony(hh.clone(), true));
                }
                if ui.button(lang.t("画未封闭阳台(一半)", "Open balcony (half)")).clicked() {
                    self.target = Some(DrawTarget::Balcony(hh.clone(), false));
                }
            });
            if ui.button(lang.t("打印分户图 PDF…", "Print household plan PDF…")).clicked() {
                if let Some(p) = cx.dialogs.save_file(
                    rfd::FileDialog::new().add_filter("PDF", &["pdf"]).set_file_name(format!("分户图-{hh}.pdf")),
                ) {
                    match super::print::household_plan_pdf(u, &hh, &p) {
                        Ok(()) => cx.message(format!("{} {}", lang.t("已打印", "Printed"), p.display())),
                        Err(e) => cx.message(e),
                    }
                }
            }
        }
        if let Some(sel) = self.selected.clone() {
            if ui.button(lang.t("删除所选轮廓", "Delete selected outline")).clicked() {
                self.delete(cx, u, &floor, &sel);
            }
        }
        if self.target.is_some() && ui.button(lang.t("取消绘制 Esc", "Cancel drawing Esc")).clicked() {
            self.target = None;
            self.canvas.reset_gesture();
        }
        ui.separator();
        ui.horizontal(|ui| {
            let l = ui.label(lang.t("复制到层", "Copy to floors"));
            ui.add(
                egui::TextEdit::singleline(&mut self.copy_to).hint_text("2-6").desired_width(70.0).id_salt("copy-to"),
            )
            .labelled_by(l.id);
            if ui.button(lang.t("复制", "Copy")).clicked() {
                match parse_floors(&self.copy_to) {
                    Ok(to) => {
                        cx.push(ops::copy_floor(cx.editor.doc(), zrzh, &floor.ljzh, floor.floor, &to, &cx.by()));
                    }
                    Err(e) => cx.message(e),
                }
            }
        });
        ui.separator();
        if let Some(a) = areas {
            areas_ui(ui, cx, a);
        }
    }

    /// A household picked in the list: a drawn one is selected for editing its
    /// corners, one not drawn yet is drawn next.
    pub fn pick_household(&mut self, u: &BuildingUnits, floor: &FloorKey, hh: String) {
        let drawn = u.plan.floor_in(&floor.ljzh, floor.floor).is_some_and(|f| f.households.iter().any(|h| h.hh == hh));
        self.target = (!drawn).then(|| DrawTarget::Household(hh.clone()));
        self.selected = Some(hh);
        self.canvas.reset_gesture();
    }

    fn delete(&mut self, cx: &mut UnitsCx<'_>, u: &BuildingUnits, floor: &FloorKey, sel: &str) {
        let Some(mut f) = u.plan.floor_in(&floor.ljzh, floor.floor).cloned() else { return };
        f.households.retain(|h| h.hh != sel);
        f.shared.retain(|s| s.id != sel);
        let to = (!f.households.is_empty() || !f.shared.is_empty()).then_some(f);
        if cx.push(set_floor(cx, u, floor, to, "删除轮廓 / delete outline")) {
            self.selected = None;
        }
    }
}

/// The command that sets floor `key` of the building to `to`.
fn set_floor(
    cx: &UnitsCx<'_>,
    u: &BuildingUnits,
    key: &FloorKey,
    to: Option<FloorPlanFloor>,
    label: &str,
) -> Result<crate::model::Command, crate::model::EditError> {
    ops::set_floor(cx.editor.doc(), &u.table.zrzh, &key.ljzh, key.floor, to, label, &cx.by())
}

fn areas_ui(ui: &mut egui::Ui, cx: &UnitsCx<'_>, a: &FloorAreas) {
    let lang = cx.lang;
    ui.strong(lang.t("本层面积 (m²)", "Floor areas (m²)"));
    egui::Grid::new("floor-areas").striped(true).show(ui, |ui| {
        for h in [
            lang.t("室号", "Room"),
            lang.t("套内", "Inner"),
            lang.t("使用", "Usable"),
            lang.t("墙体", "Walls"),
            lang.t("阳台", "Balcony"),
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for h in &a.households {
            ui.label(&h.room);
            for v in [h.inner_area, h.usable_area, h.wall_area, h.balcony_area] {
                // `+ 0.0` turns a computed -0.0 (no balcony) into 0.00, not "-0.00".
                ui.label(format!("{:.2}", v + 0.0));
            }
            ui.end_row();
        }
    });
    for s in &a.shared {
        ui.label(format!("{} {}: {:.2}", s.name, s.id, s.area));
    }
    ui.label(format!("{}: {:.2}", lang.t("外墙一半", "Outer half of outer walls"), a.outer_wall_half));
    ui.strong(format!("{}: {:.2}", lang.t("层建筑面积", "Floor building area"), a.building_area));
}
