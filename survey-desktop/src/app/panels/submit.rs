//! 成果上报: log in, check and export the package, hand it in, follow the review. The
//! work runs in [`crate::submit`]'s background thread; this panel only draws the
//! [`SubmitModel`] and starts jobs.

use std::path::PathBuf;
use std::time::Instant;

use cadastre_core::package::BusinessKind;

use super::{AppCommand, Panel, PanelCx};
use crate::app::i18n::Lang;
use crate::submit::{ExportOptions, IssuedCodes, Job, LoginStore, Progress, SubmitModel, POLL_EVERY};

/// The submission panel.
pub struct SubmitPanel {
    /// The model (public for tests).
    pub model: SubmitModel,
    /// Server URL being edited.
    pub server: String,
    /// User name being edited.
    pub user: String,
    /// Password being typed (never stored).
    pub password: String,
    /// Where the package goes.
    pub package_path: String,
    /// Manifest fields.
    pub options: ExportOptions,
}

impl SubmitPanel {
    /// A panel over a login store.
    pub fn new(store: LoginStore) -> Self {
        let model = SubmitModel::new(store);
        let server =
            if model.login.server.is_empty() { "http://127.0.0.1:8080".into() } else { model.login.server.clone() };
        let user = model.login.user.clone();
        let package_path = std::env::temp_dir().join("成果包.zip").display().to_string();
        Self { model, server, user, password: String::new(), package_path, options: ExportOptions::default() }
    }
}

impl Default for SubmitPanel {
    fn default() -> Self {
        // No config directory (no home): the panel still opens and says so when used.
        let store =
            LoginStore::user_default().unwrap_or_else(|_| LoginStore::at(std::env::temp_dir().join("survey-desktop")));
        Self::new(store)
    }
}

impl Panel for SubmitPanel {
    fn id(&self) -> &'static str {
        "submit"
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.t("上报", "Submit")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>) {
        if let Some(review) = self.model.update(Instant::now()) {
            cx.out.push(AppCommand::ReviewArrived(Box::new(review)));
        }
        if self.model.submitter.busy().is_some() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        } else if self.model.review.as_ref().is_some_and(|r| r.pending()) {
            ui.ctx().request_repaint_after(POLL_EVERY);
        }
        let lang = cx.state.lang;
        let idle = self.model.submitter.busy().is_none();
        self.login_ui(ui, lang, idle);
        ui.separator();
        self.export_ui(ui, cx, lang, idle);
        ui.separator();
        self.status_ui(ui, cx, lang, idle);
    }
}

impl SubmitPanel {
    fn login_ui(&mut self, ui: &mut egui::Ui, lang: Lang, idle: bool) {
        ui.strong(lang.t("服务器与登录", "Server and login"));
        egui::Grid::new("login").num_columns(2).show(ui, |ui| {
            let l = ui.label(lang.t("服务器地址", "Server URL"));
            ui.text_edit_singleline(&mut self.server).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(lang.t("用户名", "User"));
            ui.text_edit_singleline(&mut self.user).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(lang.t("密码", "Password"));
            ui.add(egui::TextEdit::singleline(&mut self.password).password(true)).labelled_by(l.id);
            ui.end_row();
        });
        ui.horizontal(|ui| {
            if ui.add_enabled(idle, egui::Button::new(lang.t("登录", "Log in"))).clicked() {
                let password = std::mem::take(&mut self.password);
                self.model.start(Job::Login { server: self.server.clone(), user: self.user.clone(), password });
            }
            let logged_in = !self.model.login.token.is_empty();
            if ui.add_enabled(idle && logged_in, egui::Button::new(lang.t("退出登录", "Log out"))).clicked() {
                self.model.login.token.clear();
                if let Err(e) = self.model.store.logout() {
                    self.model.error = Some(e.to_string());
                }
            }
            if logged_in {
                ui.label(format!("{} {}", lang.t("已登录：", "Logged in:"), self.model.login.user));
            } else {
                ui.label(lang.t("未登录", "Not logged in"));
            }
        });
    }

    fn export_ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>, lang: Lang, idle: bool) {
        ui.strong(lang.t("成果包", "Result package"));
        egui::Grid::new("package").num_columns(2).show(ui, |ui| {
            let l = ui.label(lang.t("项目名称", "Project"));
            ui.text_edit_singleline(&mut self.options.project).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(lang.t("测绘单位", "Survey firm"));
            ui.text_edit_singleline(&mut self.options.survey_firm).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(lang.t("业务类型", "Business"));
            let kinds = [
                BusinessKind::Initial,
                BusinessKind::Change,
                BusinessKind::Split,
                BusinessKind::Merge,
                BusinessKind::Extinguish,
            ];
            egui::ComboBox::from_id_salt("kind")
                .selected_text(self.options.business_kind.name_zh())
                .show_ui(ui, |ui| {
                    for k in kinds {
                        ui.selectable_value(&mut self.options.business_kind, k, k.name_zh());
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label(lang.t("保存到", "Save to"));
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut self.package_path).desired_width(150.0)).labelled_by(l.id);
                if ui.button("…").clicked() {
                    if let Some(p) =
                        rfd::FileDialog::new().add_filter("zip", &["zip"]).set_file_name("成果包.zip").save_file()
                    {
                        self.package_path = p.display().to_string();
                    }
                }
            });
            ui.end_row();
        });
        ui.horizontal(|ui| {
            if ui.add_enabled(idle, egui::Button::new(lang.t("质检并导出", "Check and export"))).clicked() {
                let config = crate::checks::config(cx.settings.get("qc_rules").map(String::as_str));
                match config {
                    Ok(config) => self.model.start(Job::Export {
                        doc: Box::new(cx.editor.doc().clone()),
                        options: self.options.clone(),
                        config: Box::new(config),
                        path: PathBuf::from(self.package_path.trim()),
                    }),
                    Err(e) => self.model.error = Some(format!("质检规则有误：{e}")),
                }
            }
            let resubmit =
                self.model.review.as_ref().is_some_and(|r| matches!(r.status.as_str(), "returned" | "failed"));
            let label =
                if resubmit { lang.t("上报新版本", "Submit new version") } else { lang.t("上报", "Submit") };
            let ready = self.model.exported.is_some() && !self.model.login.token.is_empty();
            if ui.add_enabled(idle && ready, egui::Button::new(label)).clicked() {
                self.model.submit_exported();
            }
        });
        if let Some(Progress::Exported { path, verdict, score, findings, bytes }) = &self.model.exported {
            let verdict = if verdict == "pass" { lang.t("通过", "pass") } else { lang.t("不通过", "fail") };
            ui.label(format!(
                "{} {}（{:.1} KB）\n{}：{score:.1} {verdict}，{findings} {}",
                lang.t("已导出", "Exported"),
                path.display(),
                *bytes as f64 / 1024.0,
                lang.t("质检得分", "Check score"),
                lang.t("个问题（报告已随包上报）", "findings (report inside)")
            ));
        }
    }

    fn status_ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>, lang: Lang, idle: bool) {
        if let Some(what) = self.model.submitter.busy() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(what);
            });
            if let Some(f) = self.model.submitter.upload_fraction() {
                ui.add(egui::ProgressBar::new(f).show_percentage());
            }
        }
        if let Some(e) = &self.model.error {
            ui.colored_label(egui::Color32::from_rgb(200, 30, 30), e);
        }
        let Some(r) = self.model.review.clone() else { return };
        ui.strong(format!(
            "{} {}（{} {}）",
            lang.t("上报编号", "Submission"),
            r.submission_id,
            lang.t("版本", "version"),
            r.version
        ));
        ui.label(format!("{}：{}", lang.t("状态", "Status"), r.status_zh()));
        if let (Some(v), Some(s)) = (&r.verdict, r.score) {
            ui.label(format!("{}：{s:.1}（{v}）", lang.t("服务器质检", "Server check")));
        }
        if let Some(n) = &r.note {
            ui.label(format!("{}：{n}", lang.t("审核意见", "Reviewer's note")));
        }
        if let Some(f) = &r.failure {
            ui.colored_label(egui::Color32::from_rgb(200, 30, 30), f);
        }
        if ui.add_enabled(idle, egui::Button::new(lang.t("刷新状态", "Refresh"))).clicked() {
            self.model.start(Job::Refresh { id: r.submission_id });
        }
        if !r.codes.is_empty() {
            codes_ui(ui, lang, &r.issued());
        }
        if !r.findings.is_empty() {
            ui.label(format!("{}（{}）", lang.t("退回的问题", "Returned findings"), r.findings.len()));
            egui::ScrollArea::vertical().id_salt("returned").max_height(200.0).show(ui, |ui| {
                for (i, f) in r.findings.iter().enumerate() {
                    let text = format!("{}. {} {}", i + 1, f.objects.join(","), f.message);
                    let clicked = ui.selectable_label(false, text).clicked();
                    if let (true, Some([x, y])) = (clicked, f.location) {
                        cx.out.push(AppCommand::ZoomTo([x - 25.0, y - 25.0], [x + 25.0, y + 25.0]));
                    }
                }
            });
        }
    }
}

/// The codes issued on acceptance, by parcels, buildings and households (已写入项目).
fn codes_ui(ui: &mut egui::Ui, lang: Lang, issued: &IssuedCodes) {
    ui.label(lang.t("入库代码（已写入项目）：", "Codes issued (written into the project):"));
    let groups = [
        (lang.t("宗地代码", "Parcels"), &issued.parcels),
        (lang.t("自然幢号", "Buildings"), &issued.buildings),
        (lang.t("不动产单元代码（户）", "Households"), &issued.households),
    ];
    for (title, codes) in groups {
        if codes.is_empty() {
            continue;
        }
        ui.label(format!("{title}（{}）", codes.len()));
        egui::ScrollArea::vertical().id_salt(title).max_height(160.0).show(ui, |ui| {
            for (temp, code) in codes {
                ui.monospace(format!("{temp} → {code}"));
            }
        });
    }
}
