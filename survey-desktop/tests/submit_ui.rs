//! egui_kittest: the submission panel's states (logged out, server down, exporting,
//! exported, returned with findings that zoom the map, accepted with codes), the app
//! taking a review answer (codes into the project, findings on the map), and the print
//! action writing a 宗地图 PDF whose text has the parcel code.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use cadastre_core::io::LoadOptions;
use egui_kittest::kittest::{NodeT as _, Queryable};
use egui_kittest::Harness;
use survey_desktop::app::command::AppCommand;
use survey_desktop::app::panels::{ChecksState, Panel, PanelCx, SubmitPanel};
use survey_desktop::app::{App, AppState};
use survey_desktop::model::{Document, Editor};
use survey_desktop::print::PrintChoice;
use survey_desktop::submit::{LoginStore, ReturnedFinding, ReviewState, StoredLogin};

mod common;
use common::kit::pdf_text;

const ZDDM: &str = "330106001001GB00001";

fn district() -> Document {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let sub = survey_desktop::import::read(&dir, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    Document::from_submission(sub).0
}

/// The panel alone, with what a panel sees; commands it emits collect in `out`.
struct Bench {
    panel: SubmitPanel,
    editor: Editor,
    state: AppState,
    checks: ChecksState,
    settings: BTreeMap<String, String>,
    out: Vec<AppCommand>,
    fonts: bool,
}

fn panel_harness(bench: Bench) -> Harness<'static, Bench> {
    let mut h = Harness::builder().with_size(egui::vec2(420.0, 900.0)).build_ui_state(
        |ui, b: &mut Bench| {
            if !b.fonts {
                b.fonts = survey_desktop::app::fonts::install(ui.ctx()).is_ok();
            }
            let mut cx = PanelCx {
                editor: &b.editor,
                state: &b.state,
                checks: &b.checks,
                project: None,
                settings: &b.settings,
                out: &mut b.out,
            };
            b.panel.ui(ui, &mut cx);
        },
        bench,
    );
    h.run_steps(2);
    h
}

fn bench(config: &Path) -> Bench {
    Bench {
        panel: SubmitPanel::new(LoginStore::at(config.to_path_buf())),
        editor: Editor::new(district()),
        state: AppState::default(),
        checks: ChecksState::default(),
        settings: BTreeMap::new(),
        out: Vec::new(),
        fonts: false,
    }
}

/// Steps until the background job is done (the UI thread never waits on it).
fn settle(h: &mut Harness<'_, Bench>) {
    for _ in 0..600 {
        h.step();
        if h.state().panel.model.submitter.busy().is_none() {
            h.run_steps(2);
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the background job did not finish");
}

#[test]
fn submission_panel_logged_out_server_down_then_export() {
    let cfg = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut h = panel_harness(bench(cfg.path()));
    h.get_by_label("未登录");
    h.get_by_label("服务器与登录");
    // Nothing listens on this port: the login fails with a clear message, no panic.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    h.state_mut().panel.server = format!("http://127.0.0.1:{port}");
    h.state_mut().panel.user = "surveyor1".into();
    h.get_by_label("登录").click();
    h.step();
    settle(&mut h);
    let err = h.state().panel.model.error.clone().unwrap_or_default();
    assert!(err.starts_with("无法连接服务器"), "{err}");
    h.get_by_label_contains("无法连接服务器");
    // Export: checks first, report inside; the panel says what was written.
    let pkg = cfg.path().join("成果包.zip");
    h.state_mut().panel.package_path = pkg.display().to_string();
    h.get_by_label("质检并导出").click();
    h.step();
    assert_eq!(h.state().panel.model.submitter.busy(), Some("正在质检并导出成果包…"));
    settle(&mut h);
    assert_eq!(h.state().panel.model.error, None);
    assert!(pkg.is_file());
    h.get_by_label_contains("已导出");
    h.get_by_label_contains("个问题（报告已随包上报）");
    // Logged out, the submit button stays disabled.
    assert!(h.get_by_label("上报").accesskit_node().is_disabled());
}

#[test]
fn submission_panel_shows_a_returned_review_whose_findings_zoom_the_map_then_an_accepted_one() {
    let cfg = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut b = bench(cfg.path());
    b.panel.model.login = StoredLogin {
        server: "http://127.0.0.1:9".into(),
        user: "surveyor1".into(),
        token: "t".into(),
        ..StoredLogin::default()
    };
    b.panel.model.submission = Some((7, 1));
    b.panel.model.review = Some(ReviewState {
        submission_id: 7,
        version: 1,
        status: "returned".into(),
        note: Some("请补充权利人后重新上报".into()),
        findings: vec![ReturnedFinding {
            rule: "attributes.required".into(),
            message: "宗地 T1 缺少权利人".into(),
            objects: vec!["T1".into()],
            location: Some([512_315.0, 3_350_240.0]),
        }],
        ..ReviewState::default()
    });
    let mut h = panel_harness(b);
    h.get_by_label("已登录： surveyor1");
    h.get_by_label("状态：已退回，请修改后重新上报");
    h.get_by_label("审核意见：请补充权利人后重新上报");
    h.get_by_label("退回的问题（1）");
    h.get_by_label("上报新版本");
    h.get_by_label("1. T1 宗地 T1 缺少权利人").click();
    h.run_steps(2);
    let zoom = h.state().out.iter().find_map(|c| match c {
        AppCommand::ZoomTo(lo, hi) => Some((*lo, *hi)),
        _ => None,
    });
    let (lo, hi) = zoom.unwrap_or_else(|| panic!("clicking a finding zooms: {:?}", h.state().out));
    assert!(lo[0] < 512_315.0 && hi[0] > 512_315.0 && lo[1] < 3_350_240.0 && hi[1] > 3_350_240.0);
    // Accepted: the codes issued are listed.
    h.state_mut().panel.model.review = Some(ReviewState {
        submission_id: 7,
        version: 1,
        status: "accepted".into(),
        codes: BTreeMap::from([("T1".to_owned(), "330106001003GB00099".to_owned())]),
        ..ReviewState::default()
    });
    h.run_steps(2);
    h.get_by_label("状态：已通过，已入库");
    h.get_by_label("T1 → 330106001003GB00099");
    h.get_by_label("上报");
}

#[test]
fn the_app_writes_issued_codes_and_draws_returned_findings() {
    let mut doc = district();
    let id = doc.parcel_by_code(ZDDM).unwrap_or_else(|| panic!("{ZDDM}"));
    if let Some(p) = doc.parcels.get_mut(&id) {
        p.zddm = "T1".into();
    }
    let mut app = App::with_document(doc);
    let returned = ReviewState {
        status: "returned".into(),
        findings: vec![ReturnedFinding {
            rule: String::new(),
            message: "界址点不符".into(),
            objects: vec!["T1".into()],
            location: None,
        }],
        ..ReviewState::default()
    };
    app.push(AppCommand::ReviewArrived(Box::new(returned)));
    // The attributes panel of a selected sample parcel has unlabelled fields (not this test's subject).
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_accessibility_check(false)
        .build_ui_state(|ui, app: &mut App| app.ui_root(ui), app);
    h.run_steps(3);
    h.get_by_label("审核退回，1 个问题已标在地图上");
    let accepted = ReviewState {
        status: "accepted".into(),
        codes: BTreeMap::from([("T1".to_owned(), "330106001001GB00099".to_owned())]),
        ..ReviewState::default()
    };
    h.state_mut().push(AppCommand::ReviewArrived(Box::new(accepted)));
    h.run_steps(3);
    assert!(h.state().editor.doc().parcel_by_code("330106001001GB00099").is_some());
    assert!(h.state().editor.doc().parcel_by_code("T1").is_none());
    // One undoable step.
    h.state_mut().push(AppCommand::Undo);
    h.run_steps(2);
    assert!(h.state().editor.doc().parcel_by_code("T1").is_some());
}

#[test]
fn print_writes_the_selected_parcels_map_with_its_code() {
    let doc = district();
    let id = doc.parcel_by_code(ZDDM).unwrap_or_else(|| panic!("{ZDDM}"));
    let mut app = App::with_document(doc);
    app.push(AppCommand::Select([id].into()));
    // The attributes panel of a selected sample parcel has unlabelled fields (not this test's subject).
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_accessibility_check(false)
        .build_ui_state(|ui, app: &mut App| app.ui_root(ui), app);
    h.run_steps(3);
    // The menu offers it.
    h.get_by_label("项目").click();
    h.run_steps(2);
    h.get_by_label("打印宗地图").hover();
    h.run_steps(2);
    // Clicked, with the file dialog's answer given beforehand.
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clicked = tmp.path().join("菜单.pdf");
    h.state_mut().dialogs.queue(Some(clicked.clone()));
    h.get_by_label("打印所选宗地…").click();
    h.run_steps(3);
    assert!(h.state().status.starts_with("宗地图已保存"), "{}", h.state().status);
    assert!(pdf_text(&clicked).contains(ZDDM));
    let pdf = tmp.path().join("宗地图.pdf");
    let choice = PrintChoice { scale: Some(500), ..PrintChoice::default() };
    h.state_mut().push(AppCommand::PrintParcelMap(Some(pdf.clone()), choice));
    h.run_steps(3);
    assert!(h.state().status.starts_with("宗地图已保存"), "{}", h.state().status);
    let text = pdf_text(&pdf);
    assert!(text.contains(ZDDM), "{text}");
    assert!(text.contains("1:500"), "{text}");
    // Nothing selected: a message, no file.
    h.state_mut().push(AppCommand::Select(Default::default()));
    let none = tmp.path().join("none.pdf");
    h.state_mut().push(AppCommand::PrintParcelMap(Some(none.clone()), choice));
    h.run_steps(3);
    assert_eq!(h.state().status, "请先选择一宗宗地");
    assert!(!none.exists());
}
