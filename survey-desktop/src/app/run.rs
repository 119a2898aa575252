//! Applying commands after the frame; opening, importing, saving, autosave and
//! recovery; the start-up screenshot.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cadastre_core::io::LoadOptions;
use geo_types::Coord;

use super::command::AppCommand;
use super::App;
use crate::model::{ops, Command, Document, Edit};
use crate::project::{Project, ProjectError};

/// Settings key of the project's QC rules.
const QC_RULES: &str = "qc_rules";

/// World box of everything an edit touches (for tile invalidation).
fn edit_box(doc: &Document, cmd: &Command) -> Option<([f64; 2], [f64; 2])> {
    let mut cs: Vec<Coord<f64>> = Vec::new();
    for e in &cmd.edits {
        match e {
            Edit::AddPoint { at, .. } | Edit::RemovePoint { at, .. } => cs.push(*at),
            Edit::MovePoint { from, to, .. } => cs.extend([*from, *to]),
            Edit::AddParcel { parcel, .. } | Edit::RemoveParcel { parcel, .. } => {
                cs.extend(parcel.outline.point_ids().filter_map(|id| doc.points.get(&id).copied()));
            }
            Edit::ReplaceParcel { from, to, .. } => {
                cs.extend(
                    from.outline
                        .point_ids()
                        .chain(to.outline.point_ids())
                        .filter_map(|id| doc.points.get(&id).copied()),
                );
            }
            Edit::AddBuilding { building, .. } | Edit::RemoveBuilding { building, .. } => {
                cs.extend(building.footprint.0.iter().flat_map(|p| p.exterior().0.iter().copied()));
            }
            Edit::ReplaceBuilding { from, to, .. } => {
                cs.extend(from.footprint.0.iter().chain(&to.footprint.0).flat_map(|p| p.exterior().0.iter().copied()));
            }
            Edit::Units(_) => {}
        }
    }
    let first = *cs.first()?;
    let (mut lo, mut hi) = ([first.x, first.y], [first.x, first.y]);
    for c in &cs {
        lo = [lo[0].min(c.x), lo[1].min(c.y)];
        hi = [hi[0].max(c.x), hi[1].max(c.y)];
    }
    // Neighbours sharing a moved point change too: widen a little.
    let m = ((hi[0] - lo[0]).max(hi[1] - lo[1]) * 0.5).max(1.0);
    Some(([lo[0] - m, lo[1] - m], [hi[0] + m, hi[1] + m]))
}

impl App {
    /// Apply queued commands.
    pub fn run_commands(&mut self) {
        let cmds = std::mem::take(&mut self.commands);
        for cmd in cmds {
            self.run(cmd);
        }
    }

    pub(super) fn run(&mut self, cmd: AppCommand) {
        let lang = self.state.lang;
        match cmd {
            AppCommand::Edit(c) => self.execute(c),
            AppCommand::Undo => {
                let cmd = self.editor.done().last().cloned();
                match self.editor.undo() {
                    Ok(true) => self.after_edit(cmd.as_ref()),
                    Ok(false) => self.status = lang.t("没有可撤销的操作", "Nothing to undo").into(),
                    Err(e) => self.status = e.to_string(),
                }
            }
            AppCommand::Redo => {
                let cmd = self.editor.undone().last().cloned();
                match self.editor.redo() {
                    Ok(true) => self.after_edit(cmd.as_ref()),
                    Ok(false) => self.status = lang.t("没有可重做的操作", "Nothing to redo").into(),
                    Err(e) => self.status = e.to_string(),
                }
            }
            AppCommand::Select(sel) => self.state.selection = sel,
            AppCommand::SelectBuilding(b) => {
                self.state.building = b;
                if b.is_some() {
                    self.panels.active = "attributes";
                }
            }
            AppCommand::ZoomTo(lo, hi) => {
                let screen = self.canvas_rect();
                self.state.view.fit(lo, hi, screen);
            }
            AppCommand::ZoomExtent => {
                if let Some((lo, hi)) = self.editor.index().extent() {
                    let screen = self.canvas_rect();
                    self.state.view.fit(lo, hi, screen);
                }
            }
            AppCommand::ZoomSelection => {
                let boxes: Vec<_> =
                    self.state.selection.iter().filter_map(|&id| self.editor.index().parcel_bbox(id)).collect();
                if let Some(&(mut lo, mut hi)) = boxes.first() {
                    for (a, b) in &boxes {
                        lo = [lo[0].min(a[0]), lo[1].min(a[1])];
                        hi = [hi[0].max(b[0]), hi[1].max(b[1])];
                    }
                    let screen = self.canvas_rect();
                    self.state.view.fit(lo, hi, screen);
                }
            }
            AppCommand::SetTool(t) => {
                self.tools.cancel_all();
                self.state.tool = t;
            }
            AppCommand::MergeSelected => {
                let ids: Vec<_> = self.state.selection.iter().copied().collect();
                match ids.as_slice() {
                    [a, b] => match ops::merge_parcels(self.editor.doc(), self.editor.index(), *a, *b) {
                        Ok(c) => {
                            self.execute(c);
                            self.state.selection = [*a].into_iter().collect();
                        }
                        Err(e) => self.status = e.to_string(),
                    },
                    _ => self.status = lang.t("请选择两个相邻宗地", "Select two adjacent parcels").into(),
                }
            }
            AppCommand::DeleteSelected => {
                let ids: Vec<_> = self.state.selection.iter().copied().collect();
                for id in ids {
                    match ops::delete_parcel(self.editor.doc(), self.editor.index(), id) {
                        Ok(c) => self.execute(c),
                        Err(e) => self.status = e.to_string(),
                    }
                }
                self.state.selection.clear();
            }
            AppCommand::New => {
                self.on_exit();
                self.project = None;
                self.set_document(Document::default(), BTreeMap::new());
                self.status = lang.t("新项目：导入数据或开始绘制", "New project: import data or start drawing").into();
            }
            AppCommand::Save => self.save(),
            AppCommand::SaveAs(path) => {
                let path = path.or_else(|| {
                    self.dialogs.save_file(
                        rfd::FileDialog::new().add_filter("GeoPackage", &["gpkg"]).set_file_name("project.gpkg"),
                    )
                });
                if let Some(p) = path {
                    self.save_as(&p);
                }
            }
            AppCommand::Open(path) => {
                let path = path.or_else(|| {
                    self.dialogs
                        .pick_file(rfd::FileDialog::new().add_filter("GeoPackage / Shapefile", &["gpkg", "shp"]))
                });
                if let Some(p) = path {
                    self.on_exit();
                    self.open_path(&p);
                }
            }
            AppCommand::Import(path) => {
                let path = path.or_else(|| {
                    self.dialogs.pick_file(
                        rfd::FileDialog::new().add_filter(lang.t("数据", "Data"), &["shp", "gpkg", "dxf", "csv"]),
                    )
                });
                if let Some(p) = path {
                    self.import_into_project(&p);
                }
            }
            AppCommand::RunChecks(selection) => {
                let toml = self.settings.get(QC_RULES).cloned();
                match crate::checks::config(toml.as_deref()) {
                    Ok(cfg) => {
                        let sel = selection.then_some(&self.state.selection);
                        let report = crate::checks::run(self.editor.doc(), sel, &cfg);
                        self.status = format!(
                            "{}: {} / {:.1}",
                            lang.t("质检完成", "Checked"),
                            report.findings.len(),
                            report.score
                        );
                        self.checks.report = Some(report);
                        self.checks.focused = None;
                        self.panels.active = "checks";
                    }
                    Err(e) => self.status = format!("QC rules: {e}"),
                }
            }
            AppCommand::SetQcRules(text) => self.set_qc_rules(text),
            AppCommand::PlanRepairs => {
                let toml = self.settings.get(QC_RULES).cloned();
                match crate::checks::config(toml.as_deref()) {
                    Ok(cfg) => {
                        let plan = crate::checks::plan_repairs(self.editor.doc(), self.editor.index(), &cfg);
                        self.status = format!("{}: {}", lang.t("可修复", "Repairs found"), plan.changes.len());
                        self.checks.plan = Some(plan);
                        self.panels.active = "checks";
                    }
                    Err(e) => self.status = format!("QC rules: {e}"),
                }
            }
            AppCommand::ApplyRepairs => {
                if let Some(plan) = self.checks.plan.take() {
                    self.execute(plan.command);
                    self.run(AppCommand::RunChecks(false));
                }
            }
            AppCommand::Recover(yes) => self.answer_recovery(yes),
            AppCommand::SetLanguage(l) => self.state.lang = l,
            AppCommand::SetLayers(l) => self.state.layers = *l,
            AppCommand::FocusFinding(i) => self.checks.focused = Some(i),
            AppCommand::Message(m) => self.status = m,
            AppCommand::ReviewArrived(r) => self.on_review(*r),
            AppCommand::PrintParcelMap(path, choice) => self.print_selected(path, choice),
        }
    }

    /// The project's QC rules: a setting, written into the project file at once.
    fn set_qc_rules(&mut self, text: String) {
        let lang = self.state.lang;
        let value = (!text.trim().is_empty()).then_some(text);
        let written = match &mut self.project {
            Some(p) => p.put_setting(QC_RULES, value.as_deref()),
            None => Ok(()),
        };
        match value {
            Some(v) => self.settings.insert(QC_RULES.into(), v),
            None => self.settings.remove(QC_RULES),
        };
        self.status = match written {
            Ok(()) => lang.t("质检规则已更新，下次质检使用", "QC rules changed; the next check uses them").into(),
            Err(e) => e.to_string(),
        };
    }

    fn execute(&mut self, cmd: Command) {
        let label = self.state.lang.pick(&cmd.label);
        let bbox = edit_box(self.editor.doc(), &cmd);
        match self.editor.execute(cmd) {
            Ok(()) => {
                if let Some((lo, hi)) = bbox {
                    self.renderer.invalidate(lo, hi, self.editor.index().generation);
                }
                self.status = label;
                self.checks.plan = None;
                // A deleted feature cannot stay selected.
                let doc = self.editor.doc();
                self.state.selection.retain(|id| doc.parcels.contains_key(id));
                if self.state.building.is_some_and(|b| !doc.buildings.contains_key(&b)) {
                    self.state.building = None;
                }
            }
            Err(e) => self.status = e.to_string(),
        }
    }

    fn after_edit(&mut self, cmd: Option<&Command>) {
        if let Some((lo, hi)) = cmd.and_then(|c| edit_box(self.editor.doc(), c)) {
            self.renderer.invalidate(lo, hi, self.editor.index().generation);
        }
        let doc = self.editor.doc();
        self.state.selection.retain(|id| doc.parcels.contains_key(id));
        if self.state.building.is_some_and(|b| !doc.buildings.contains_key(&b)) {
            self.state.building = None;
        }
    }

    /// Open a project file, or import a folder / other data as a new untitled project.
    pub fn open_path(&mut self, path: &Path) {
        let is_gpkg = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gpkg"));
        if is_gpkg {
            match Project::open(path) {
                Ok((project, opened)) => {
                    self.project = Some(project);
                    if opened.unsaved.is_empty() {
                        self.finish_open(opened, false);
                    } else {
                        self.recovery = Some(opened);
                    }
                    return;
                }
                Err(ProjectError::NotAProject(_)) => {} // a foreign GeoPackage: import it
                Err(e) => {
                    self.status = e.to_string();
                    eprintln!("survey-desktop: {e}");
                    return;
                }
            }
        }
        let started = Instant::now();
        match crate::import::read(path, &LoadOptions::default()) {
            Ok(mut sub) => match crate::import::align_crs(&mut sub, None) {
                Ok((_, notes)) => {
                    let issues = sub.load_issues.len();
                    let (mut doc, dropped) = Document::from_submission(sub);
                    let tables = crate::import::tables::read_folder_tables(path, &self.surveyor());
                    doc.units = tables.units;
                    for p in &tables.problems {
                        eprintln!("survey-desktop: {p}");
                    }
                    self.project = None;
                    self.set_document(doc, BTreeMap::new());
                    self.status = format!(
                        "{} {} {} ({:.1} s){}{}",
                        self.state.lang.t("已导入", "Imported"),
                        self.editor.doc().parcels.len(),
                        self.state.lang.t("宗地", "parcels"),
                        started.elapsed().as_secs_f64(),
                        if issues + dropped > 0 {
                            format!(", {} load issues", issues + dropped)
                        } else {
                            String::new()
                        },
                        notes.first().map(|n| format!("; {n}")).unwrap_or_default(),
                    );
                    if !self.editor.doc().units.is_empty() || !tables.problems.is_empty() {
                        self.status.push_str(&format!(
                            "; {} {}{}",
                            self.editor.doc().units.len(),
                            self.state.lang.t("张楼盘表", "building tables"),
                            tables.problems.first().map(|p| format!(" ({p})")).unwrap_or_default()
                        ));
                    }
                }
                Err(e) => self.status = e.to_string(),
            },
            Err(e) => {
                self.status = e.to_string();
                eprintln!("survey-desktop: {e}");
            }
        }
    }

    fn finish_open(&mut self, opened: crate::project::Opened, recover: bool) {
        match opened.into_editor(recover) {
            Ok((editor, settings)) => {
                self.editor = editor;
                self.after_new_editor(settings);
                self.status = match self.project_path() {
                    Some(p) => p.display().to_string(),
                    None => String::new(),
                };
            }
            Err(e) => self.status = e.to_string(),
        }
    }

    fn answer_recovery(&mut self, recover: bool) {
        let Some(opened) = self.recovery.take() else { return };
        let n = opened.unsaved.len();
        if !recover {
            if let Some(p) = &mut self.project {
                if let Err(e) = p.discard_unsaved() {
                    self.status = e.to_string();
                }
            }
        }
        self.finish_open(opened, recover);
        if recover {
            self.status =
                format!("{} {n} {}", self.state.lang.t("已恢复", "Recovered"), self.state.lang.t("步编辑", "edits"));
        }
    }

    fn import_into_project(&mut self, path: &Path) {
        let zone = self.editor.doc().zone;
        let result = crate::import::read(path, &LoadOptions::default())
            .and_then(|mut sub| crate::import::align_crs(&mut sub, zone).map(|(z, _)| (sub, z)));
        match result {
            Ok((sub, z)) => {
                if self.editor.doc().parcels.is_empty() && self.editor.doc().zone.is_none() {
                    self.editor.set_zone(Some(z));
                }
                let cmd = crate::import::import_command(self.editor.doc(), self.editor.index(), &sub);
                self.execute(cmd);
                self.renderer.reset(&self.editor);
                self.commands.push(AppCommand::ZoomExtent);
            }
            Err(e) => self.status = e.to_string(),
        }
    }

    fn save(&mut self) {
        let settings = self.settings_to_save();
        match &mut self.project {
            Some(p) => match p.save(&mut self.editor, &settings) {
                Ok(()) => self.status = format!("{} {}", self.state.lang.t("已保存", "Saved"), p.path().display()),
                Err(e) => self.status = e.to_string(),
            },
            None => self.run(AppCommand::SaveAs(None)),
        }
    }

    fn save_as(&mut self, path: &Path) {
        let settings = self.settings_to_save();
        let result = match &mut self.project {
            Some(p) => p.save_as(path, &mut self.editor, &settings),
            None => Project::create(path).and_then(|mut p| {
                p.save(&mut self.editor, &settings)?;
                self.project = Some(p);
                Ok(())
            }),
        };
        match result {
            Ok(()) => self.status = format!("{} {}", self.state.lang.t("已保存", "Saved"), path.display()),
            Err(e) => self.status = e.to_string(),
        }
    }

    /// Write new history steps to the journal every few seconds. An untitled project
    /// first gets a recovery file in the data folder.
    pub fn autosave_tick(&mut self) {
        if !self.editor.has_unjournaled() || self.last_autosave.elapsed() < self.autosave_every {
            return;
        }
        self.last_autosave = Instant::now();
        self.autosave_now();
    }

    /// Autosave right away.
    pub fn autosave_now(&mut self) {
        if self.project.is_none() {
            let dir = self.data_dir.clone();
            let name = format!("untitled-{}.gpkg", std::process::id());
            let path: PathBuf = dir.join(name);
            let created = std::fs::create_dir_all(&dir)
                .map_err(|e| e.to_string())
                .and_then(|()| Project::create(&path).map_err(|e| e.to_string()));
            match created {
                Ok(mut p) => {
                    // The recovery file starts as the current document with its history;
                    // later steps go to its journal.
                    let settings = self.settings_to_save();
                    if let Err(e) = p.save(&mut self.editor, &settings) {
                        self.status = e.to_string();
                        return;
                    }
                    self.status = format!("{} {}", self.state.lang.t("恢复文件", "Recovery file"), path.display());
                    self.project = Some(p);
                    return;
                }
                Err(e) => {
                    self.status = e;
                    return;
                }
            }
        }
        if let Some(p) = &mut self.project {
            match p.autosave(&mut self.editor) {
                Ok(n) => {
                    self.autosaved_steps += n;
                    if self.startup.script_edits > 0 {
                        let mut out = std::io::stdout();
                        let _ = writeln!(out, "autosaved {}", self.autosaved_steps);
                        let _ = out.flush();
                    }
                }
                Err(e) => self.status = format!("{}: {e}", self.state.lang.t("自动保存失败", "Autosave failed")),
            }
        }
    }

    /// On exit: everything not yet in the journal goes there (reopen offers it back).
    pub fn on_exit(&mut self) {
        if self.editor.has_unjournaled() {
            self.autosave_now();
        }
    }

    /// Test hook (`--script-edits N`): one small boundary-point move per frame.
    pub(super) fn script_tick(&mut self, ctx: &egui::Context) {
        if self.startup.script_done >= self.startup.script_edits || self.recovery.is_some() {
            return;
        }
        ctx.request_repaint();
        let Some((&id, &c)) = self.editor.doc().points.iter().next() else { return };
        if let Ok(cmd) = ops::move_point(self.editor.doc(), id, Coord { x: c.x + 0.01, y: c.y }) {
            self.execute(cmd);
            self.startup.script_done += 1;
        }
    }

    /// `--screenshot`: after the first frames have settled, grab the window and exit.
    pub(super) fn screenshot_tick(&mut self, ctx: &egui::Context) {
        let Some(path) = self.startup.screenshot.clone() else { return };
        ctx.request_repaint();
        if self.startup.frame < 8 || self.startup.screenshot_requested {
            return;
        }
        let settled = !self.renderer.stats.rebuilt;
        if !settled && self.startup.frame < 60 {
            return;
        }
        self.startup.screenshot_requested = true;
        let ctx2 = ctx.clone();
        ctx.request_screenshot(move |image| {
            let code = match super::chrome::write_png(&path, &image) {
                Ok(()) => {
                    eprintln!("survey-desktop: screenshot saved to {}", path.display());
                    0
                }
                Err(e) => {
                    eprintln!("survey-desktop: cannot write {}: {e}", path.display());
                    1
                }
            };
            if code == 0 {
                ctx2.send_viewport_cmd(egui::ViewportCommand::Close);
            } else {
                std::process::exit(code);
            }
            ctx2.request_repaint();
        });
    }
}
