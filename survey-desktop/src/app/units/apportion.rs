//! 分摊 panel: zones, shared spaces entered by hand and what each serves (the
//! 分摊树), agreed shares; run `cadastre-core::apportion`; K per level, each
//! household's shared and total area, the exact-sum residuals; the HTML
//! calculation table. The result shows **stale** (过期) once the floor plan,
//! the table or the set-up changed after the last run.

use std::collections::BTreeMap;

use cadastre_core::apportion::{Apportionment, Area, Level, Serves, SharedInput};
use egui::{Color32, RichText};

use super::UnitsCx;
use crate::model::units::{ops, BuildingUnits, Staleness};

/// Parse "0001=10.00, 0002=5.00" into agreed shares.
pub fn parse_shares(text: &str) -> Result<BTreeMap<String, Area>, String> {
    text.split([',', '，', ';'])
        .filter(|s| !s.trim().is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("{kv}: HH=m²"))?;
            Ok((k.trim().to_owned(), v.trim().parse::<Area>().map_err(|e| e.to_string())?))
        })
        .collect()
}

/// The scope a hand-entered space serves: "" or "building", "zone:res", "zone:res:3", "units:0001,0002".
pub fn parse_serves(text: &str) -> Result<Serves, String> {
    let t = text.trim();
    let mut parts = t.splitn(3, ':');
    match parts.next().unwrap_or_default() {
        "" | "building" | "幢" => Ok(Serves { building: Some(true), ..Serves::default() }),
        "zone" | "功能区" => {
            let zone = parts.next().filter(|z| !z.is_empty()).ok_or("zone:ID")?.to_owned();
            let floor = parts.next().map(|f| f.parse::<i32>().map_err(|_| format!("{f}?"))).transpose()?;
            Ok(Serves { zone: Some(zone), floor, ..Serves::default() })
        }
        "units" | "户" => {
            let rest: String = t.split_once(':').map(|x| x.1.to_owned()).unwrap_or_default();
            Ok(Serves {
                units: Some(rest.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()),
                ..Serves::default()
            })
        }
        other => Err(format!("{other}: building | zone:ID[:floor] | units:HH,HH")),
    }
}

/// The last result and staleness of (building, edit generation).
type Cached = (String, u64, Option<Result<Apportionment, String>>, Staleness);

/// The apportionment panel.
#[derive(Default)]
pub struct ApportionPanel {
    /// New shared space: name.
    pub name: String,
    /// Its area.
    pub area: String,
    /// What it serves (see [`parse_serves`]).
    pub serves: String,
    /// Shared id whose agreed shares are edited.
    pub agreed_id: String,
    /// Agreed shares text.
    pub agreed: String,
    cache: Option<Cached>,
}

impl ApportionPanel {
    /// The last result and staleness, cached until the next edit.
    pub fn state(&mut self, cx: &UnitsCx<'_>, u: &BuildingUnits) -> (Option<Result<Apportionment, String>>, Staleness) {
        let g = cx.editor.index().generation;
        let fresh = self.cache.as_ref().is_some_and(|(z, gen, ..)| *z == u.table.zrzh && *gen == g);
        if !fresh {
            let r = u.last_result().map(|r| r.map_err(|e| e.to_string()));
            self.cache = Some((u.table.zrzh.clone(), g, r, u.staleness()));
        }
        self.cache.as_ref().map_or((None, Staleness::NeverRun), |(_, _, r, s)| (r.clone(), s.clone()))
    }

    /// Draw the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, zrzh: &Option<String>) {
        let lang = cx.lang;
        let Some(u) = cx.units(zrzh).cloned() else {
            ui.label(lang.t("先新建或导入楼盘表。", "Create or import a building table first."));
            return;
        };
        let (result, stale) = self.state(cx, &u);
        ui.horizontal(|ui| {
            if ui.button(RichText::new(lang.t("运行分摊", "Run apportionment")).strong()).clicked() {
                cx.push(ops::run_apportionment(cx.editor.doc(), &u.table.zrzh, &cx.by()).map(|(c, _)| c));
            }
            let (text, colour) = match &stale {
                Staleness::NeverRun => (lang.t("尚未分摊", "Not run yet").to_owned(), Color32::GRAY),
                Staleness::Current => (lang.t("结果为最新", "Up to date").to_owned(), Color32::from_rgb(0, 130, 0)),
                Staleness::Stale => (
                    lang.t("已过期：面积或共有部位已修改，请重新运行", "STALE: areas or shared spaces changed, re-run")
                        .to_owned(),
                    Color32::from_rgb(200, 0, 0),
                ),
                Staleness::Invalid(e) => {
                    (format!("{}: {e}", lang.t("无法分摊", "Cannot apportion")), Color32::from_rgb(200, 0, 0))
                }
            };
            ui.label(RichText::new(text).color(colour).strong());
            if let Some(Ok(r)) = &result {
                if ui.button(lang.t("导出计算表…", "Export table…")).clicked() {
                    if let Some(p) = cx.dialogs.save_file(
                        rfd::FileDialog::new()
                            .add_filter("PDF", &["pdf"])
                            .add_filter("Excel", &["xlsx"])
                            .add_filter("HTML", &["html"])
                            .set_file_name(format!("{}-分摊.pdf", u.table.zrzh)),
                    ) {
                        match super::print::apportionment_table(r, &p) {
                            Ok(()) => cx.message(format!("{} {}", lang.t("已导出", "Exported"), p.display())),
                            Err(e) => cx.message(e),
                        }
                    }
                }
            }
        });
        self.setup_ui(ui, cx, &u);
        ui.separator();
        match result {
            Some(Ok(r)) => result_ui(ui, cx, &r),
            Some(Err(e)) => {
                ui.colored_label(Color32::RED, e);
            }
            None => {}
        }
    }

    fn setup_ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, u: &BuildingUnits) {
        let lang = cx.lang;
        egui::CollapsingHeader::new(lang.t("共有部位与分摊树", "Shared spaces and the apportionment tree"))
            .default_open(true)
            .show(ui, |ui| {
                let plan = u.plan.shared_inputs();
                for s in plan.iter().chain(&u.setup.shared) {
                    let agreed =
                        if u.setup.agreed.contains_key(&s.id) { lang.t(" 协议分摊", " agreed") } else { "" };
                    ui.label(format!(
                        "{} {} {} m² → {}{agreed}",
                        s.id,
                        s.name.as_deref().unwrap_or(""),
                        s.area,
                        serves_text(&s.serves)
                    ));
                }
                ui.horizontal_wrapped(|ui| {
                    ui.label(lang.t("新共有部位", "New shared space"));
                    ui.add(
                        egui::TextEdit::singleline(&mut self.name)
                            .hint_text(lang.t("名称", "name"))
                            .desired_width(80.0)
                            .id_salt("sh-name"),
                    );
                    ui.add(
                        egui::TextEdit::singleline(&mut self.area)
                            .hint_text("m²")
                            .desired_width(60.0)
                            .id_salt("sh-area"),
                    );
                    ui.add(
                        egui::TextEdit::singleline(&mut self.serves)
                            .hint_text("building | zone:res[:3] | units:0001,0002")
                            .desired_width(200.0)
                            .id_salt("sh-serves"),
                    );
                    if ui.button(lang.t("添加", "Add")).clicked() {
                        self.add_shared(cx, u);
                    }
                });
                ui.horizontal_wrapped(|ui| {
                    ui.label(lang.t("协议分摊", "Agreed shares"));
                    ui.add(
                        egui::TextEdit::singleline(&mut self.agreed_id)
                            .hint_text(lang.t("共有部位编号", "space id"))
                            .desired_width(90.0)
                            .id_salt("ag-id"),
                    );
                    ui.add(
                        egui::TextEdit::singleline(&mut self.agreed)
                            .hint_text("0001=10.00,0002=5.00")
                            .desired_width(200.0)
                            .id_salt("ag-text"),
                    );
                    if ui.button(lang.t("设置", "Set")).clicked() {
                        self.set_agreed(cx, u);
                    }
                });
            });
    }

    /// Add the typed shared space to the set-up.
    pub fn add_shared(&mut self, cx: &mut UnitsCx<'_>, u: &BuildingUnits) {
        let area = match self.area.trim().parse::<Area>() {
            Ok(a) => a,
            Err(e) => return cx.message(e.to_string()),
        };
        let serves = match parse_serves(&self.serves) {
            Ok(s) => s,
            Err(e) => return cx.message(e),
        };
        let mut setup = u.setup.clone();
        let id = format!("S{}", setup.shared.len() + 1);
        let name = (!self.name.trim().is_empty()).then(|| self.name.trim().to_owned());
        setup.shared.push(SharedInput { id, name, area, serves, shares: None });
        if cx.push(ops::set_setup(cx.editor.doc(), &u.table.zrzh, setup, "添加共有部位 / add shared space", &cx.by()))
        {
            self.name.clear();
            self.area.clear();
        }
    }

    fn set_agreed(&mut self, cx: &mut UnitsCx<'_>, u: &BuildingUnits) {
        let mut setup = u.setup.clone();
        let id = self.agreed_id.trim().to_owned();
        if self.agreed.trim().is_empty() {
            setup.agreed.remove(&id);
        } else {
            match parse_shares(&self.agreed) {
                Ok(s) => {
                    setup.agreed.insert(id, s);
                }
                Err(e) => return cx.message(e),
            }
        }
        cx.push(ops::set_setup(cx.editor.doc(), &u.table.zrzh, setup, "协议分摊 / agreed shares", &cx.by()));
    }
}

fn serves_text(s: &Serves) -> String {
    match (&s.building, &s.zone, s.floor, &s.units) {
        (Some(true), ..) => "幢 building".into(),
        (_, Some(z), Some(f), _) => format!("功能区 {z} 第{f}层"),
        (_, Some(z), None, _) => format!("功能区 {z}"),
        (_, _, _, Some(u)) => format!("户 {}", u.join(",")),
        _ => "?".into(),
    }
}

fn result_ui(ui: &mut egui::Ui, cx: &UnitsCx<'_>, r: &Apportionment) {
    let lang = cx.lang;
    let t = &r.totals;
    let exact = t.apportioned == t.shared_area;
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!(
            "Σ{} {}   Σ{} {}   Σ{} {}   Σ{} {}",
            lang.t("套内", "inner"),
            t.inner_area,
            lang.t("共有", "shared"),
            t.shared_area,
            lang.t("分摊", "apportioned"),
            t.apportioned,
            lang.t("建筑面积", "building area"),
            t.building_area
        ));
        let check = if exact {
            lang.t("√ 分摊之和等于共有面积", "√ shares add up to the shared area")
        } else {
            lang.t("× 不等", "× differ")
        };
        ui.label(RichText::new(check).color(if exact { Color32::from_rgb(0, 130, 0) } else { Color32::RED }));
    });
    egui::CollapsingHeader::new(lang.t("各级分摊系数 K", "K per level")).default_open(true).show(ui, |ui| {
        egui::Grid::new("levels").striped(true).show(ui, |ui| {
            for h in [lang.t("级", "Level"), lang.t("套内", "Inner"), lang.t("共有", "Shared"), "K"] {
                ui.strong(h);
            }
            ui.end_row();
            for l in &r.levels {
                let name = match l.level {
                    Level::Building => "幢".to_owned(),
                    Level::Zone => format!("功能区 {}", l.zone.as_deref().unwrap_or("")),
                    Level::Floor => format!("{} 第{}层", l.zone.as_deref().unwrap_or(""), l.floor.unwrap_or_default()),
                };
                ui.label(name);
                ui.label(l.inner_area.to_string());
                ui.label(format!("{:.2}", l.incoming + l.own_shared.m2()));
                ui.monospace(format!("{:.6}", l.k));
                ui.end_row();
            }
        });
    });
    egui::CollapsingHeader::new(lang.t("尾差", "Residuals")).show(ui, |ui| {
        for s in &r.shared {
            let sum: Area = s.allocations.iter().map(|a| a.area).sum();
            let adj: Vec<String> = s.adjustments.iter().map(|a| format!("{} {:+.2}", a.unit, a.area.m2())).collect();
            ui.label(format!("{} {} = Σ {}  {}", s.id, s.area, sum, adj.join(", ")));
        }
    });
    ui.strong(lang.t("各户面积", "Households"));
    let header = format!(
        "{:<6} {:<8} {:>4} {:>10} {:>10} {:>10} {:>10}",
        "HH", "室号", "层", "套内", "分摊", "建筑面积", "系数"
    );
    ui.monospace(header);
    egui::ScrollArea::vertical().id_salt("units").auto_shrink([false, false]).show_rows(
        ui,
        18.0,
        r.units.len(),
        |ui, range| {
            for u in &r.units[range] {
                ui.monospace(format!(
                    "{:<6} {:<8} {:>4} {:>10} {:>10} {:>10} {:>10.6}",
                    u.id,
                    u.room.as_deref().unwrap_or("-"),
                    u.floor,
                    u.inner_area.to_string(),
                    u.apportioned.to_string(),
                    u.building_area.to_string(),
                    u.coefficient
                ));
            }
        },
    );
}
