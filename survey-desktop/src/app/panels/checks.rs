//! Quality checks: run on the project or the selection, a findings list that zooms
//! to each, and repairs with a preview before they are applied.

use cadastre_core::qc::{Report, Severity, Verdict};

use super::{AppCommand, Panel, PanelCx};
use crate::app::i18n::Lang;
use crate::checks::RepairPlan;

/// The last check results (kept by the app; the map marks them).
#[derive(Default)]
pub struct ChecksState {
    /// Last report.
    pub report: Option<Report>,
    /// Repairs waiting for confirmation.
    pub plan: Option<RepairPlan>,
    /// Finding the user clicked last.
    pub focused: Option<usize>,
    /// Findings the reviewer returned with the last submission (drawn on the map).
    pub returned: Vec<crate::submit::ReturnedFinding>,
}

/// The checks panel.
#[derive(Default)]
pub struct ChecksPanel;

impl Panel for ChecksPanel {
    fn id(&self) -> &'static str {
        "checks"
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.t("质检", "Checks")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>) {
        let lang = cx.state.lang;
        ui.horizontal_wrapped(|ui| {
            if ui.button(lang.t("检查项目 (F5)", "Check project (F5)")).clicked() {
                cx.out.push(AppCommand::RunChecks(false));
            }
            if ui
                .add_enabled(!cx.state.selection.is_empty(), egui::Button::new(lang.t("检查所选", "Check selection")))
                .clicked()
            {
                cx.out.push(AppCommand::RunChecks(true));
            }
            if ui.button(lang.t("自动修复…", "Repairs…")).clicked() {
                cx.out.push(AppCommand::PlanRepairs);
            }
        });
        if let Some(plan) = &cx.checks.plan {
            ui.separator();
            ui.label(format!("{}: {}", lang.t("待修复", "Repairs to apply"), plan.changes.len()));
            egui::ScrollArea::vertical().id_salt("repairs").max_height(160.0).show(ui, |ui| {
                for c in &plan.changes {
                    let after = c.after.map_or_else(|| "—".to_owned(), |a| format!("{:.3}, {:.3}", a[1], a[0]));
                    ui.label(format!("{} {} ({:.3}, {:.3}) → {after}", c.object, c.action, c.before[1], c.before[0]));
                }
            });
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(!plan.command.is_empty(), egui::Button::new(lang.t("应用修复", "Apply repairs")))
                    .clicked()
                {
                    cx.out.push(AppCommand::ApplyRepairs);
                }
            });
        }
        let Some(report) = &cx.checks.report else {
            ui.label(lang.t("尚未检查", "Not checked yet"));
            return;
        };
        ui.separator();
        let verdict = match report.verdict {
            Verdict::Pass => lang.t("通过", "pass"),
            Verdict::Fail => lang.t("不通过", "fail"),
        };
        ui.label(format!(
            "{}: {:.1}  {verdict}  ({} {})",
            lang.t("得分", "Score"),
            report.score,
            report.findings.len(),
            lang.t("个问题", "findings")
        ));
        egui::ScrollArea::vertical().id_salt("findings").show(ui, |ui| {
            for (i, f) in report.findings.iter().enumerate() {
                let color = match f.severity {
                    Severity::Error => egui::Color32::from_rgb(200, 30, 30),
                    Severity::Warning => egui::Color32::from_rgb(200, 120, 0),
                    Severity::Info => egui::Color32::GRAY,
                };
                let msg = match lang {
                    Lang::Zh => &f.message_zh,
                    Lang::En => &f.message_en,
                };
                let text = egui::RichText::new(format!("[{}] {} {}", f.severity.name_zh(), f.rule, msg)).color(color);
                if ui.selectable_label(cx.checks.focused == Some(i), text).clicked() {
                    let [x, y] = f.location;
                    cx.out.push(AppCommand::ZoomTo([x - 15.0, y - 15.0], [x + 15.0, y + 15.0]));
                    let sel = f.objects.iter().filter_map(|code| cx.editor.doc().parcel_by_code(code)).collect();
                    cx.out.push(AppCommand::Select(sel));
                    cx.out.push(AppCommand::FocusFinding(i));
                }
            }
        });
    }
}
