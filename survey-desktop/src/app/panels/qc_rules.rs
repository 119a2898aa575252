//! 质检规则: the project's quality-check rules, edited in the app. Each rule can be
//! switched off; the one picked by its name shows its severity and numbers
//! (tolerances, weight, cap) to change. Every accepted change is the project's `qc_rules` setting at once
//! (written into the project file when it has one), so the next check run uses it.
//! The form itself is [`crate::qc_rules::RulesForm`]; this panel only shows it.

use std::collections::BTreeMap;

use super::{AppCommand, Panel, PanelCx};
use crate::app::i18n::Lang;
use crate::qc_rules::RulesForm;

/// The rules panel.
#[derive(Default)]
pub struct QcRulesPanel {
    form: Option<RulesForm>,
    /// The setting the form was read from (`None`: not read yet).
    read_from: Option<Option<String>>,
    /// Rule whose numbers are shown.
    pub selected: Option<String>,
    /// Numbers being typed, by key.
    texts: BTreeMap<String, String>,
    error: Option<String>,
}

impl QcRulesPanel {
    /// The form of the project's current setting (read again when the setting changed).
    fn sync(&mut self, setting: Option<&String>) {
        if self.read_from.as_ref().is_some_and(|r| r.as_ref() == setting) {
            return;
        }
        self.read_from = Some(setting.cloned());
        self.texts.clear();
        match RulesForm::from_settings(setting.map(String::as_str)) {
            Ok(f) => {
                self.form = Some(f);
                self.error = None;
            }
            Err(e) => {
                // The checks refuse the same text; shown here with the defaults under it.
                self.form = RulesForm::from_settings(None).ok();
                self.error = Some(e);
            }
        }
    }

    /// Ask for the form with `change` made as the project's rules, or say why not.
    /// The form itself changes only when the setting does (next frame): a frame egui
    /// draws twice then asks twice for the same rules, not for a change and its undoing.
    fn change(&mut self, cx: &mut PanelCx<'_>, change: impl FnOnce(&mut RulesForm) -> Result<(), String>) {
        let Some(mut next) = self.form.clone() else { return };
        match change(&mut next) {
            Ok(()) => {
                self.error = None;
                cx.out.push(AppCommand::SetQcRules(next.to_toml()));
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Every rule: its switch, and its name, which picks it for the settings above.
    fn list_ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>) {
        let Some(form) = &self.form else { return };
        let mut switched = None;
        egui::Grid::new("qc-rule-list").num_columns(2).spacing([4.0, 2.0]).show(ui, |ui| {
            for id in form.rule_ids() {
                let Some(rule) = form.rule(&id) else { continue };
                let mut on = rule.enabled;
                let check = ui.checkbox(&mut on, "");
                let name = ui.selectable_label(self.selected.as_ref() == Some(&id), &id);
                if check.labelled_by(name.id).changed() {
                    switched = Some((id.clone(), on));
                }
                if name.clicked() {
                    self.selected = Some(id.clone());
                    self.texts.clear();
                }
                ui.end_row();
            }
        });
        if let Some((id, on)) = switched {
            self.change(cx, |f| f.set_enabled(&id, on));
        }
    }

    /// The picked rule's severity and numbers.
    fn rule_ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>, lang: Lang) {
        let Some(form) = &self.form else { return };
        let ids = form.rule_ids();
        let selected = self.selected.clone().filter(|s| ids.contains(s)).or_else(|| ids.first().cloned());
        self.selected.clone_from(&selected);
        if let Some(id) = &selected {
            ui.strong(format!("{} {id}", lang.t("规则", "Rule")));
        }
        let Some(rule) = selected.and_then(|id| form.rule(&id)) else { return };
        let mut severity_to = None;
        egui::Grid::new("qc-rule-settings").num_columns(2).show(ui, |ui| {
            let l = ui.label(lang.t("严重性", "Severity"));
            let mut severity = rule.severity.clone();
            egui::ComboBox::from_id_salt("qc-severity")
                .selected_text(&severity)
                .show_ui(ui, |ui| {
                    for s in ["error", "warning", "info"] {
                        ui.selectable_value(&mut severity, s.to_owned(), s);
                    }
                })
                .response
                .labelled_by(l.id);
            if severity != rule.severity {
                severity_to = Some(severity);
            }
            ui.end_row();
            for (key, value) in &rule.numbers {
                let l = ui.label(key);
                let text = self.texts.entry(key.clone()).or_insert_with(|| value.to_string());
                ui.add(egui::TextEdit::singleline(text).desired_width(80.0).id_salt(("qc-number", key)))
                    .labelled_by(l.id);
                ui.end_row();
            }
        });
        if let Some(s) = severity_to {
            self.change(cx, |f| f.set_severity(&rule.id, &s));
        }
        if ui.button(lang.t("应用数值", "Apply values")).clicked() {
            let typed: Vec<(String, String)> =
                rule.numbers.iter().filter_map(|(k, _)| self.texts.get(k).map(|t| (k.clone(), t.clone()))).collect();
            // All or none; on an error what was typed stays.
            self.change(cx, |f| typed.iter().try_for_each(|(k, t)| f.set_number(&rule.id, k, t)));
        }
    }
}

impl Panel for QcRulesPanel {
    fn id(&self) -> &'static str {
        "qc_rules"
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.t("质检规则", "QC rules")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>) {
        let lang = cx.state.lang;
        self.sync(cx.settings.get("qc_rules"));
        egui::ScrollArea::vertical().id_salt("qc-rules").show(ui, |ui| self.content(ui, cx, lang));
    }
}

impl QcRulesPanel {
    fn content(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>, lang: Lang) {
        ui.label(lang.t(
            "修改后立即保存到项目，下次质检使用。",
            "Changes go into the project at once; the next check uses them.",
        ));
        if let Some(e) = &self.error {
            ui.colored_label(egui::Color32::from_rgb(200, 30, 30), e);
        }
        self.rule_ui(ui, cx, lang);
        ui.separator();
        ui.strong(lang.t("启用的规则（点名称修改其设置）", "Rules that run (a name shows its settings)"));
        self.list_ui(ui, cx);
        ui.separator();
        if ui.button(lang.t("恢复默认规则", "Back to the defaults")).clicked() {
            cx.out.push(AppCommand::SetQcRules(String::new()));
        }
    }
}
