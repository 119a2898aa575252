//! The surveyor's desktop against the real server: the app's model imports the sample
//! district, draws a new parcel with a temporary id and a building on it whose 楼盘表 (four
//! households), floor plan and apportionment are made in the app, exports the result
//! package (checks run first, their report inside; the table, plan and apportionment
//! input as members), logs in and hands it in over HTTP to a tile-server on a real
//! socket; a reviewer accepts it through the API (with an override reason when the checks
//! fail) and the app shows it accepted and writes the issued codes into its document as
//! one undoable step: the parcel's 19-character ZDDM, the building's 24-character ZRZH
//! (its table and plan move there) and each household's 28-character BDCDYH. A second submission comes back returned with findings, which the
//! model shows with their locations, and is handed in again as version 2. The errors a
//! surveyor can meet (wrong password, 403, 409, package too big, server down) are
//! Chinese messages.
//!
//! Needs `DATABASE_URL` (a PostGIS server; `#[sqlx::test]` makes a fresh database).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cadastre_core::apportion::Serves;
use cadastre_core::building::{FloorSpec, GridSpec};
use cadastre_core::floorplan::{FloorPlanFloor, HouseholdPlan, Outline, SharedKind, SharedSpace};
use cadastre_core::io::LoadOptions;
use cadastre_core::package::{Limits, Package};
use geo_types::Coord;
use serde_json::{json, Value};
use sqlx::PgPool;
use survey_desktop::app::command::AppCommand;
use survey_desktop::app::App;
use survey_desktop::model::snap::{Snap, SnapTarget};
use survey_desktop::model::units::ops as units_ops;
use survey_desktop::model::{ops, Document, Editor};
use survey_desktop::submit::{apply_codes, ExportOptions, Job, LoginStore, Progress, SubmitModel};
use tile_server::auth::accounts::{self, NewUser};
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::crypto::PiiCipher;
use tile_server::db::MIGRATOR;
use tile_server::AppState;

const PASSWORD: &str = "Correct-horse-battery-9";
const COUNTY: &str = "330106";
const WAIT: Duration = Duration::from_secs(120);

fn district() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

async fn fill(pool: &PgPool) {
    use tile_server::import::{import, tables::import_tables, ImportOptions, NoProgress};
    unit_code::alloc::migrate(pool).await.unwrap_or_else(|e| panic!("unit-code migrations: {e}"));
    let opts = ImportOptions { rejects: None, actor: "import:test".into(), ..ImportOptions::new(district()) };
    import(pool, &opts, &NoProgress).await.unwrap_or_else(|e| panic!("{e}"));
    let tables = import_tables(pool, &district(), "import:test").await;
    assert!(tables.iter().all(|t| t.written.is_ok()), "{tables:?}");
}

/// A tile-server on 127.0.0.1 (a random port) until the sender is dropped.
async fn start_server(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let options = tile_server::serve::ServeOptions::from_settings(&state.settings).unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = tile_server::app(state);
    tokio::spawn(async move {
        let _ = tile_server::serve::serve(listener, router, options, async move {
            let _ = rx.await;
        })
        .await;
    });
    (format!("http://{addr}"), tx)
}

async fn user(pool: &PgPool, name: &str, role: Role) {
    accounts::create_user(pool, &NewUser { username: name, password: PASSWORD, role, counties: &[COUNTY] })
        .await
        .unwrap_or_else(|e| panic!("create user {name}: {e}"));
}

/// Runs one job of the model on a blocking thread (the server runs on this runtime).
async fn step(mut model: SubmitModel, job: Job) -> (SubmitModel, Option<String>) {
    tokio::task::spawn_blocking(move || {
        model.start(job);
        model.wait(WAIT);
        let err = model.error.clone();
        (model, err)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The reviewer's side, straight over HTTP like the console.
async fn api(base: &str, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let (base, method, path, token) = (base.to_owned(), method.to_owned(), path.to_owned(), token.to_owned());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let url = format!("{base}{path}");
        let auth = format!("Bearer {token}");
        let resp = match (method.as_str(), body) {
            ("POST", Some(b)) => agent.post(&url).header("Authorization", &auth).send_json(b),
            ("POST", None) => agent.post(&url).header("Authorization", &auth).send_empty(),
            _ => agent.get(&url).header("Authorization", &auth).call(),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status().as_u16();
        let v = resp.body_mut().read_json::<Value>().unwrap_or(Value::Null);
        (status, v)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn login(base: &str, name: &str) -> String {
    let (s, v) = api(base, "POST", "/api/auth/login", "", Some(json!({"username": name, "password": PASSWORD}))).await;
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap_or_default().to_owned()
}

/// The sample district as the app imports it, with a new parcel `temp` drawn in the empty
/// block north-east of sub-district 003 (rows `k` apart).
fn project_with_new_parcel(temp: &str, k: f64) -> Editor {
    let sub = survey_desktop::import::read(&district(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let template = sub.parcels.iter().find(|p| p.zddm.starts_with("330106001003")).cloned();
    let (doc, dropped) = Document::from_submission(sub);
    assert_eq!(dropped, 0);
    let mut editor = Editor::new(doc);
    let mut attrs = template.map(|p| p.attributes).unwrap_or_default();
    attrs.djzqdm = Some("330106001003".into());
    attrs.bdcdyh = None;
    attrs.zl = Some("西湖区新建路1号".into());
    let (x0, y0) = (512_300.0, 3_350_223.0 + k);
    let free = |x: f64, y: f64| Snap { at: Coord { x, y }, target: SnapTarget::Free };
    let verts = [free(x0, y0), free(x0, y0 + 20.0), free(x0 + 30.0, y0 + 20.0), free(x0 + 30.0, y0)];
    let cmd =
        ops::draw_parcel(editor.doc(), editor.index(), &verts, temp.into(), attrs).unwrap_or_else(|e| panic!("{e}"));
    editor.execute(cmd).unwrap_or_else(|e| panic!("{e}"));
    editor
}

fn run(editor: &mut Editor, cmd: survey_desktop::model::Command) {
    editor.execute(cmd).unwrap_or_else(|e| panic!("{e}"));
}

/// A building drawn on the new parcel (its ZRZH a temporary id, `<parcel>F0001`) with the
/// app's 楼盘表 (2 floors × 2 households), floor 1 drawn with a stairwell, predicted areas
/// for floor 2, and the apportionment run. Returns the ZRZH.
fn with_new_building(editor: &mut Editor, temp: &str, k: f64) -> String {
    let (x0, y0) = (512_305.0, 3_350_228.0 + k);
    let corners = [(0.0, 0.0), (0.0, 10.0), (23.0, 10.0), (23.0, 0.0)].map(|(dx, dy)| Coord { x: x0 + dx, y: y0 + dy });
    let cmd = ops::draw_building(editor.doc(), editor.index(), &corners).unwrap_or_else(|e| panic!("{e}"));
    run(editor, cmd);
    let zrzh = editor.doc().buildings.values().find(|b| b.zddm == temp).map(|b| b.zrzh.clone()).unwrap_or_default();
    assert_eq!(zrzh, format!("{temp}F0001"));
    let by = cadastre_core::building::Editor::now("surveyor1");
    let cmd = units_ops::create(editor.doc(), &zrzh, &by).unwrap_or_else(|e| panic!("{e}"));
    run(editor, cmd);
    let spec = GridSpec {
        ljzh: "1".into(),
        floors: (1..=2).map(FloorSpec::simple).collect(),
        stair_units: 1,
        rooms_per_unit: 2,
        usage: "住宅".into(),
        zone: "res".into(),
    };
    let cmd = units_ops::generate_grid(editor.doc(), &zrzh, &spec, &by).unwrap_or_else(|e| panic!("{e}"));
    run(editor, cmd);
    let all: Vec<String> = editor.doc().units[&zrzh].table.current().map(|h| h.hh.clone()).collect();
    let values = units_ops::BatchValues {
        predicted_inner: Some("80.00".parse().unwrap_or_else(|e| panic!("{e:?}"))),
        address: Some("西湖区新建路1号1幢".into()),
        ..Default::default()
    };
    let (cmd, _) = units_ops::batch_edit(editor.doc(), &zrzh, &all, &values, &by).unwrap_or_else(|e| panic!("{e}"));
    run(editor, cmd);
    let flat = |hh: &str, room: &str, x0: f64, x1: f64| HouseholdPlan {
        hh: hh.into(),
        room: room.into(),
        stair_unit: "1".into(),
        outline: Outline::rect(x0, 0.0, x1, 9.0),
        balconies: vec![],
    };
    let floor = FloorPlanFloor {
        ljzh: "1".into(),
        floor: 1,
        households: vec![flat("0001", "101", 0.0, 10.0), flat("0002", "102", 13.0, 23.0)],
        shared: vec![SharedSpace {
            id: "stair1".into(),
            kind: SharedKind::Stairwell,
            name: "1单元楼梯间".into(),
            outline: Outline::rect(10.0, 0.0, 13.0, 9.0),
            serves: Serves { building: Some(true), ..Serves::default() },
        }],
    };
    let cmd =
        units_ops::set_floor(editor.doc(), &zrzh, "1", 1, Some(floor), "绘制户", &by).unwrap_or_else(|e| panic!("{e}"));
    run(editor, cmd);
    let (cmd, r) = units_ops::run_apportionment(editor.doc(), &zrzh, &by).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.totals.apportioned, r.totals.shared_area);
    run(editor, cmd);
    zrzh
}

fn export_job(editor: &Editor, path: &Path) -> Job {
    Job::Export {
        doc: Box::new(editor.doc().clone()),
        options: ExportOptions { project: "新建路宗地首次登记".into(), ..ExportOptions::default() },
        config: Box::new(cadastre_core::qc::QcConfig::default()),
        path: path.to_path_buf(),
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_app_submits_a_new_parcel_and_building_and_shows_them_accepted_with_their_codes_then_a_returned_one(
    pool: PgPool,
) {
    fill(&pool).await;
    user(&pool, "surveyor1", Role::Surveyor).await;
    user(&pool, "reviewer1", Role::Reviewer).await;
    let cipher = PiiCipher::from_key_bytes(&[9u8; 32]).unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(pool.clone(), Settings::default(), cipher.clone());
    let (base, _stop) = start_server(state.clone()).await;
    let limits = tile_server::review::limits(&state.settings);
    let cfg = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = LoginStore::at(cfg.path().join("survey-desktop"));
    let mut model = SubmitModel::new(store.clone());

    // A wrong password is said so; the right one stores a token, owner-only.
    let login_job =
        |password: &str| Job::Login { server: base.clone(), user: "surveyor1".into(), password: password.into() };
    let (m, err) = step(model, login_job("wrong-password-1A")).await;
    assert_eq!(err.as_deref(), Some("用户名或密码错误"));
    let (m, err) = step(m, login_job(PASSWORD)).await;
    assert_eq!(err, None);
    model = m;
    assert!(!model.login.token.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(store.path()).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o600);
    }

    // Export: the checks run first and their report is a listed, digested member.
    let mut editor = project_with_new_parcel("T1", 0.0);
    let temp_zrzh = with_new_building(&mut editor, "T1", 0.0);
    let pkg = work.path().join("成果包1.zip");
    let (m, err) = step(model, export_job(&editor, &pkg)).await;
    assert_eq!(err, None);
    model = m;
    let Some(Progress::Exported { verdict, findings, .. }) = model.exported.clone() else { panic!("not exported") };
    let bytes = std::fs::read(&pkg).unwrap_or_else(|e| panic!("{e}"));
    let mut opened =
        Package::open(std::io::Cursor::new(bytes.as_slice()), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    opened.verify().unwrap_or_else(|e| panic!("{e}"));
    let qc = opened.qc_report().unwrap_or_else(|e| panic!("{e}")).unwrap_or(Value::Null);
    assert_eq!(qc["verdict"].as_str(), Some(verdict.as_str()));
    assert_eq!(qc["findings"].as_array().map(Vec::len), Some(findings));
    assert_eq!(opened.manifest().qc_report.as_ref().map(|r| r.findings), Some(findings));
    // The new building's table, floor plan and apportionment input travel with it.
    let members: Vec<String> = opened.manifest().files.iter().map(|f| f.path.clone()).collect();
    for ext in ["csv", "floorplan.json", "apportion.json"] {
        let name = format!("buildings/{temp_zrzh}.{ext}");
        assert!(members.contains(&name), "{name} not in {members:?}");
    }

    // Hand it in; the server's worker checks it; the model polls and sees it ready.
    let (m, err) = step(model, Job::Submit { path: pkg.clone(), resubmit_of: None }).await;
    assert_eq!(err, None);
    model = m;
    let (id, version) = model.submission.unwrap_or_else(|| panic!("no submission"));
    assert_eq!(version, 1);
    assert_eq!(tile_server::review::worker::drain(&pool, limits).await.unwrap_or_else(|e| panic!("{e}")), 1);
    let (m, err) = step(model, Job::Refresh { id }).await;
    assert_eq!(err, None);
    model = m;
    let review = model.review.clone().unwrap_or_default();
    assert_eq!(review.status, "ready", "{review:?}");

    // The reviewer sees the added parcel and accepts (overriding a failed check).
    let reviewer = login(&base, "reviewer1").await;
    let (s, diff) = api(&base, "GET", &format!("/api/submissions/{id}/diff"), &reviewer, None).await;
    assert_eq!(s, 200, "{diff}");
    let added: Vec<&str> = diff["diff"]["parcels"]["added"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(added, ["T1"], "{}", diff["diff"]["parcels"]);
    let mut decision = json!({"decision": "accept", "note": "同意入库"});
    if review.verdict.as_deref() == Some("fail") {
        decision["override_reason"] = json!("样例数据的已知问题，经核实不影响本宗");
    }
    let (s, v) = api(&base, "POST", &format!("/api/submissions/{id}/decision"), &reviewer, Some(decision)).await;
    assert_eq!(s, 200, "{v}");

    // The model shows it accepted with the codes issued: the parcel's, the building's, and
    // one per household of the new building's table.
    let (m, err) = step(model, Job::Refresh { id }).await;
    assert_eq!(err, None);
    model = m;
    let review = model.review.clone().unwrap_or_default();
    assert_eq!((review.status.as_str(), review.status_zh()), ("accepted", "已通过，已入库"));
    assert_eq!(review.note.as_deref(), Some("同意入库"));
    let code = review.codes.get("T1").cloned().unwrap_or_default();
    assert_eq!(code.len(), 19, "{:?}", review.codes);
    assert!(code.starts_with("330106001003GB"), "{code}");
    let zrzh = review.codes.get(&temp_zrzh).cloned().unwrap_or_default();
    assert_eq!(zrzh, format!("{code}F0001"), "{:?}", review.codes);
    let issued = review.issued();
    assert_eq!((issued.parcels.len(), issued.buildings.len(), issued.households.len()), (1, 1, 4), "{issued:?}");
    assert!(issued.households.iter().all(|(_, c)| c.len() == 28 && c.starts_with(&zrzh)), "{issued:?}");
    // A model-level check of the edit the app makes (nothing changed yet: it applies).
    let by = cadastre_core::building::Editor::now("surveyor1");
    assert!(apply_codes(editor.doc(), &review.codes, &by).unwrap_or_else(|e| panic!("{e}")).is_some());

    // The app takes the answer as it does from its submission panel: status, and the codes
    // in its document as one undoable step.
    let mut app = App::with_document(editor.doc().clone());
    app.push(AppCommand::ReviewArrived(Box::new(review.clone())));
    app.run_commands();
    assert_eq!(app.status, "审核通过，已写入入库代码：宗地 1，幢 1，户 4");
    let doc = app.editor.doc();
    assert!(doc.parcel_by_code(&code).is_some());
    assert!(doc.parcel_by_code("T1").is_none());
    assert!(doc.buildings.values().any(|b| b.zrzh == zrzh && b.zddm == code));
    assert!(!doc.units.contains_key(&temp_zrzh));
    let u = doc.units.get(&zrzh).unwrap_or_else(|| panic!("no table under {zrzh}: {:?}", doc.units.keys()));
    assert_eq!((u.table.zrzh.as_str(), u.plan.zrzh.as_str()), (zrzh.as_str(), zrzh.as_str()));
    let mut household_codes: Vec<String> = u.table.current().filter_map(|h| h.unit_code.clone()).collect();
    let mut expected: Vec<String> = issued.households.iter().map(|(_, c)| c.clone()).collect();
    household_codes.sort();
    expected.sort();
    assert_eq!(household_codes, expected);
    assert!(u.table.current().all(|h| h.unit_code.as_deref() == Some(&format!("{zrzh}{}", h.hh))));
    // The plan follows the issued household numbers; the apportionment stays current.
    assert!(u.plan.floors.iter().flat_map(|f| &f.households).all(|p| u.table.get(&p.hh).is_some()));
    assert_eq!(u.staleness(), survey_desktop::model::units::Staleness::Current);
    // One undo step takes it all back.
    app.push(AppCommand::Undo);
    app.run_commands();
    assert!(app.editor.doc().units.contains_key(&temp_zrzh));
    assert!(app.editor.doc().parcel_by_code("T1").is_some());
    app.push(AppCommand::Redo);
    app.run_commands();
    // The store has them under those codes.
    let (s, p) = api(&base, "GET", &format!("/api/parcels/{code}"), &reviewer, None).await;
    assert_eq!(s, 200, "{p}");
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT bdcdyh::text FROM households WHERE bdcdyh LIKE $1 || '%' AND state = 'current' ORDER BY bdcdyh",
    )
    .bind(&zrzh)
    .fetch_all(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, expected);

    // 409: a new version of an accepted submission.
    let (m, err) = step(model, Job::Submit { path: pkg.clone(), resubmit_of: Some(id) }).await;
    assert!(err.as_deref().unwrap_or("").starts_with("操作与当前状态冲突"), "{err:?}");
    model = m;

    // A second submission comes back returned with a finding; the model shows it.
    let editor2 = project_with_new_parcel("T2", 40.0);
    let pkg2 = work.path().join("成果包2.zip");
    let (m, err) = step(model, export_job(&editor2, &pkg2)).await;
    assert_eq!(err, None);
    model = m;
    model.submission = None;
    model.review = None;
    let (m, err) = step(model, Job::Submit { path: pkg2.clone(), resubmit_of: None }).await;
    assert_eq!(err, None);
    model = m;
    let (id2, _) = model.submission.unwrap_or_else(|| panic!("no submission"));
    assert_ne!(id2, id);
    tile_server::review::worker::drain(&pool, limits).await.unwrap_or_else(|e| panic!("{e}"));
    let finding = json!({"rule": "attributes.required", "objects": ["T2"], "location": [512_315.0, 3_350_273.0],
        "message_zh": "宗地 T2 缺少权利人"});
    let returned = json!({"decision": "return", "note": "请补充权利人后重新上报", "findings": [finding]});
    let (s, v) = api(&base, "POST", &format!("/api/submissions/{id2}/decision"), &reviewer, Some(returned)).await;
    assert_eq!(s, 200, "{v}");
    let (m, err) = step(model, Job::Refresh { id: id2 }).await;
    assert_eq!(err, None);
    model = m;
    let review = model.review.clone().unwrap_or_default();
    assert_eq!(review.status, "returned");
    assert_eq!(review.note.as_deref(), Some("请补充权利人后重新上报"));
    assert_eq!(review.findings.len(), 1);
    assert_eq!(review.findings[0].location, Some([512_315.0, 3_350_273.0]));
    assert_eq!(review.findings[0].message, "宗地 T2 缺少权利人");
    // Fixed and handed in again: a new version of the same submission.
    let resubmit = tokio::task::spawn_blocking(move || {
        model.submit_exported();
        model.wait(WAIT);
        model
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resubmit.error, None);
    assert_eq!(resubmit.submission, Some((id2, 2)));

    // 403: a reviewer's token may not hand in.
    let mut as_reviewer = SubmitModel::new(LoginStore::at(cfg.path().join("reviewer")));
    as_reviewer.login = survey_desktop::submit::StoredLogin {
        server: base.clone(),
        user: "reviewer1".into(),
        token: reviewer.clone(),
        expires_at: String::new(),
    };
    let (_, err) = step(as_reviewer, Job::Submit { path: pkg2.clone(), resubmit_of: None }).await;
    assert!(err.as_deref().unwrap_or("").starts_with("没有权限"), "{err:?}");

    // 413: a server that takes packages of at most 1 KB.
    let small = Settings { submission_max_bytes: 1024, ..Settings::default() };
    let (small_base, _stop_small) = start_server(AppState::new(pool.clone(), small, cipher)).await;
    let mut m = SubmitModel::new(LoginStore::at(cfg.path().join("small")));
    m.login = survey_desktop::submit::StoredLogin {
        server: small_base,
        user: "surveyor1".into(),
        token: login(&base, "surveyor1").await,
        expires_at: String::new(),
    };
    let (_, err) = step(m, Job::Submit { path: pkg2, resubmit_of: None }).await;
    assert_eq!(err.as_deref(), Some("成果包过大，超过服务器允许的大小，请分批上报"));
}
