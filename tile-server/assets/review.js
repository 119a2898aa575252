// Reviewers' pages: the submissions list, one submission with its report findings
// (click one: the map goes there), the diff on the map in colours with tables of moved
// boundary points, area changes and building tables, and the decision form. The map is
// the console's (assets/map.js); the diff is drawn over it from the stored diff.
import { createMap, fromZone } from "/assets/map.js";
import { $, api, endSession, errorText, login as startSession, onSessionExpired, token } from "/assets/api.js";
import { householdGrid } from "/assets/table.js";

const STATUS_ZH = { checking: "质检中", ready: "待审核", accepted: "已入库", returned: "已退回", failed: "无法读取" };
const SEVERITY_ZH = { error: "错误", warning: "警告", info: "提示" };

function report(err) { $("decision-result").textContent = "出错 error: " + err.message; }
function cell(text) { const td = document.createElement("td"); td.textContent = text === null || text === undefined || text === "" ? "—" : String(text); return td; }
const fmt = (v, d = 2) => (typeof v === "number" ? v.toFixed(d) : "—");

async function login(event) {
  event.preventDefault();
  $("login-error").hidden = true;
  try { await startSession({ username: $("username").value.trim(), password: $("password").value }); } catch (err) {
    $("login-error").textContent = "登录失败 Login failed: " + err.message; $("login-error").hidden = false; return;
  }
  $("password").value = "";
  await showList();
}

function logout() {
  endSession();
  hideReview();
}

function hideReview() {
  for (const id of ["list-section", "detail-section", "logout", "who"]) $(id).hidden = true;
  $("login-section").hidden = false;
}

onSessionExpired(hideReview);

// ---- The list ----

async function showList() {
  const resp = await api("/api/submissions?per_page=100");
  if (!resp.ok) throw new Error(await errorText(resp));
  const page = await resp.json();
  $("login-section").hidden = true;
  $("logout").hidden = false;
  const body = document.querySelector("#submissions tbody");
  body.replaceChildren();
  for (const s of page.items) {
    const tr = document.createElement("tr");
    tr.dataset.id = s.submission_id;
    const status = cell(STATUS_ZH[s.status] || s.status);
    status.className = "status status-" + s.status;
    status.dataset.status = s.status;
    const score = cell(fmt(s.score, 1));
    score.className = "score";
    tr.dataset.status = s.status;
    tr.append(cell(s.submission_id), cell(s.title), cell(s.county), cell(s.business_kind), cell(s.submitter),
      cell(new Date(s.submitted_at).toLocaleString("zh-CN")), status, score,
      cell(s.verdict === "pass" ? "通过" : s.verdict === "fail" ? "不通过" : "—"));
    tr.addEventListener("click", () => openSubmission(s.submission_id).catch(report));
    body.append(tr);
  }
  if (!page.items.length) {
    const tr = document.createElement("tr");
    const td = cell("暂无成果 no submissions");
    td.colSpan = 9;
    tr.append(td);
    body.append(tr);
  }
  $("list-section").hidden = false;
}

// ---- The map with the diff ----

let mapView = null;
let current = null;
let shownFindings = [];

async function ensureMap() {
  if (mapView) return mapView;
  const el = $("review-map");
  mapView = await createMap(el, { token: token(), onStatus: (t) => { $("detail-meta").dataset.mapStatus = t; } });
  const map = mapView.map;
  await new Promise((ok) => (map.loaded() ? ok() : map.once("load", ok)));
  map.on("moveend", () => { el.dataset.moves = String(Number(el.dataset.moves) + 1); el.dataset.center = map.getCenter().toArray().map((v) => v.toFixed(6)).join(","); });
  const empty = { type: "FeatureCollection", features: [] };
  map.addSource("review-diff", { type: "geojson", data: empty });
  map.addSource("review-points", { type: "geojson", data: empty });
  const colour = ["match", ["get", "kind"], "added", "#2e9d4c", "changed", "#f29d12", "removed", "#d7263d", "overlap", "#8e44ad", "#888"];
  map.addLayer({ id: "review-diff-fill", type: "fill", source: "review-diff", paint: { "fill-color": colour, "fill-opacity": 0.35 } });
  map.addLayer({ id: "review-diff-line", type: "line", source: "review-diff", paint: { "line-color": colour, "line-width": 2.5 } });
  map.addLayer({ id: "review-points", type: "circle", source: "review-points",
    paint: { "circle-radius": 6, "circle-color": ["match", ["get", "kind"], "finding", "#b00020", "#1f4fd8"], "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
  el.dataset.ready = "1";
  return mapView;
}

const ll = (x, y) => fromZone(mapView.zone, x, y);

/// geo-types JSON (store CRS) to a GeoJSON MultiPolygon in longitude/latitude.
function toLonLat(mp) {
  const ring = (r) => r.map((c) => ll(c.x, c.y));
  return { type: "MultiPolygon", coordinates: mp.map((p) => [ring(p.exterior), ...(p.interiors || []).map(ring)]) };
}

function drawDiff(diff, findings) {
  const features = [];
  for (const layer of ["parcels", "buildings"]) {
    for (const kind of ["removed", "changed", "added"]) {
      for (const e of diff[layer][kind]) {
        features.push({ type: "Feature", properties: { kind, id: e.id, layer }, geometry: toLonLat(e.geometry) });
      }
    }
  }
  for (const o of diff.overlaps) {
    const [a, b] = [ll(o.bbox[0], o.bbox[1]), ll(o.bbox[2], o.bbox[3])];
    features.push({ type: "Feature", properties: { kind: "overlap", id: o.package_parcel + "/" + o.store_parcel },
      geometry: { type: "Polygon", coordinates: [[a, [b[0], a[1]], b, [a[0], b[1]], a]] } });
  }
  const points = diff.moved_points.map((m) => ({ type: "Feature", properties: { kind: "moved" }, geometry: { type: "Point", coordinates: ll(m.to[0], m.to[1]) } }));
  for (const f of findings) points.push({ type: "Feature", properties: { kind: "finding", rule: f.rule }, geometry: { type: "Point", coordinates: ll(f.location[0], f.location[1]) } });
  const map = mapView.map;
  map.getSource("review-diff").setData({ type: "FeatureCollection", features });
  map.getSource("review-points").setData({ type: "FeatureCollection", features: points });
  $("review-map").dataset.diffFeatures = String(features.length);
  const boxes = [...["parcels", "buildings"].flatMap((l) => ["removed", "changed", "added"].flatMap((k) => diff[l][k].map((e) => e.bbox)))];
  if (boxes.length) {
    const w = Math.min(...boxes.map((b) => b[0])), s = Math.min(...boxes.map((b) => b[1]));
    const e = Math.max(...boxes.map((b) => b[2])), n = Math.max(...boxes.map((b) => b[3]));
    map.fitBounds([ll(w, s), ll(e, n)], { padding: 40, duration: 0, maxZoom: 18 });
  }
}

// ---- One submission ----

async function openSubmission(id) {
  const resp = await api("/api/submissions/" + id);
  if (!resp.ok) throw new Error(await errorText(resp));
  const s = await resp.json();
  current = s;
  const v = s.versions[0];
  const m = v.manifest || {};
  $("detail-id").textContent = "#" + s.submission_id + " 第" + v.version + "版";
  $("detail-title").textContent = s.title;
  $("detail-meta").textContent = `状态 ${STATUS_ZH[v.status] || v.status} · 县 ${s.county} · ${m.business_kind || ""} · 测绘单位 ${m.survey_firm || "—"} · 提交人 ${s.submitter} · ` +
    (v.score !== null && v.score !== undefined ? `得分 ${v.score.toFixed(1)} · 结论 ${v.verdict === "pass" ? "通过" : "不通过"}` : "尚无质检结果") +
    (v.failure ? " · 原因 " + v.failure : "") + (v.decision_note ? " · 意见 " + v.decision_note : "");
  $("detail-section").dataset.id = s.submission_id;
  $("detail-section").dataset.status = v.status;
  $("detail-section").hidden = false;
  $("decision-result").textContent = "";
  $("decision-form").hidden = v.status !== "ready";
  await ensureMap();
  let findings = [];
  let diff = null;
  if (["ready", "accepted", "returned"].includes(v.status)) {
    const [r, d] = await Promise.all([api(`/api/submissions/${id}/report?version=${v.version}`), api(`/api/submissions/${id}/diff?version=${v.version}`)]);
    if (r.ok) findings = (await r.json()).findings || [];
    if (d.ok) diff = (await d.json()).diff;
  }
  showFindings(findings);
  if (diff) { showDiff(diff); drawDiff(diff, findings); }
  $("detail-section").dataset.loaded = String(Date.now());
}

function showFindings(findings) {
  const list = $("findings");
  list.replaceChildren();
  $("findings-count").textContent = "(" + findings.length + ")";
  findings.slice(0, 500).forEach((f, i) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.index = i;
    b.className = "finding sev-" + f.severity;
    b.textContent = `[${SEVERITY_ZH[f.severity] || f.severity}] ${f.message_zh} (${(f.objects || []).join(", ")})`;
    b.title = f.message_en;
    b.addEventListener("click", () => {
      mapView.map.flyTo({ center: ll(f.location[0], f.location[1]), zoom: 19, duration: 600 });
      $("review-map").dataset.focus = String(i);
    });
    // Ticked findings go back to the surveyor with a return (the desktop app shows them on its map).
    const attach = document.createElement("input");
    attach.type = "checkbox";
    attach.className = "attach";
    attach.dataset.index = i;
    attach.title = "退回时附上此问题 attach to a return";
    attach.setAttribute("aria-label", "退回时附上 attach: " + f.message_zh);
    li.append(attach, b);
    list.append(li);
  });
  shownFindings = findings;
  if (!findings.length) list.append(Object.assign(document.createElement("li"), { textContent: "无质检问题 no findings" }));
}

function showDiff(diff) {
  const p = diff.parcels, b = diff.buildings;
  $("diff-summary").textContent = `宗地：新增 ${p.added.length}，变更 ${p.changed.length}，灭失 ${p.removed.length}，未变 ${p.unchanged}；` +
    `自然幢：新增 ${b.added.length}，变更 ${b.changed.length}，灭失 ${b.removed.length}；界址点位移 ${diff.moved_points.length}；与库中宗地重叠 ${diff.overlaps.length}`;
  $("diff-problems").textContent = diff.problems.join("；");
  $("diff-problems").hidden = !diff.problems.length;
  const notices = diff.notices || [];
  $("diff-notices").textContent = notices.map((n) => "提示：" + n).join("\n");
  $("diff-notices").hidden = !notices.length;
  const moved = document.querySelector("#moved-points tbody");
  moved.replaceChildren();
  for (const m of diff.moved_points) {
    const tr = document.createElement("tr");
    // Surveyors write X = northing, Y = easting.
    tr.append(cell(m.parcels.map((q) => q.zddm + " " + q.jzdh).join("；")), cell(fmt(m.from[1], 3)), cell(fmt(m.from[0], 3)),
      cell(fmt(m.to[1], 3)), cell(fmt(m.to[0], 3)), cell(fmt(m.distance_m, 3)));
    moved.append(tr);
  }
  const areas = document.querySelector("#area-changes tbody");
  areas.replaceChildren();
  const kindZh = { added: "新增", changed: "变更", removed: "灭失" };
  for (const kind of ["added", "changed", "removed"]) {
    for (const e of p[kind]) {
      const tr = document.createElement("tr");
      tr.className = "area-" + kind;
      const delta = (e.area_after || 0) - (e.area_before || 0);
      tr.append(cell(e.id), cell(kindZh[kind]), cell(fmt(e.area_before)), cell(fmt(e.area_after)), cell(fmt(delta)),
        cell((e.fields || []).map((f) => `${f.field}: ${f.before ?? "—"} → ${f.after ?? "—"}`).join("；")));
      areas.append(tr);
    }
  }
  for (const r of diff.replacements) {
    const tr = document.createElement("tr");
    tr.append(cell(r.old.join("、") + " → " + r.new.join("、")), cell(r.kind), cell(fmt(r.area_before)), cell(fmt(r.area_after)), cell(fmt(r.area_after - r.area_before)), cell(""));
    areas.append(tr);
  }
  const tables = document.querySelector("#table-changes tbody");
  tables.replaceChildren();
  for (const t of diff.tables) {
    const tr = document.createElement("tr");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.textContent = "查看楼盘表 view";
    btn.dataset.zrzh = t.zrzh;
    btn.addEventListener("click", () => showBuildingTable(t).catch(report));
    const td = document.createElement("td");
    td.append(btn);
    tr.append(cell(t.zrzh), cell(t.added.length), cell(t.changed.length), cell(t.removed.length), td);
    tables.append(tr);
  }
}

/// A building table of the submission as a grid (assets/table.js): the package's table
/// against the store's. Each household of the package is added, changed or unchanged; the
/// store's households the table no longer lists are shown where they were, as removed.
async function showBuildingTable(t) {
  // The store's table gives the removed households their places and the floors their names;
  // a new building (temporary id) has none.
  const resp = await api("/api/buildings/" + encodeURIComponent(t.zrzh) + "/table");
  if (resp.status >= 500) throw new Error(await errorText(resp));
  const store = resp.ok ? await resp.json() : { rows: [] };
  const storeHouseholds = (store.rows || []).flatMap((r) => r.households || []);
  const byCode = new Map(storeHouseholds.map((h) => [h.BDCDYH, h]));
  const changed = new Map(t.changed.map((h) => [h.bdcdyh, h]));
  const removed = new Set(t.removed.map((h) => h.bdcdyh));
  const isAdded = (code, hh) => t.added.some((a) => (a.bdcdyh ?? null) === (code ?? null) && (code || a.hh === hh));
  const num = (v) => (v === null || v === undefined || v === "" || Number.isNaN(Number(v)) ? null : Number(v));
  const changes = (h) => (h ? h.fields.map((f) => `${f.field}: ${f.before ?? "—"} → ${f.after ?? "—"}`).join("；") : "");
  const fromStore = (h, status) => ({ bdcdyh: h.BDCDYH, hh: h.BDCDYH.slice(-4), floor: h.MYC, physical: h.SJC, unit: h.DYH,
    room: h.SHBW, area: num(h.SCTNJZMJ ?? h.YCTNJZMJ), status, title: changes(changed.get(h.BDCDYH)) || h.ZL });
  const cells = [];
  if (t.package && t.package.length) {
    for (const p of t.package) {
      const f = p.fields || {};
      const status = isAdded(p.bdcdyh, p.hh) ? "added" : changed.has(p.bdcdyh) ? "changed" : "unchanged";
      cells.push({ bdcdyh: p.bdcdyh, hh: p.hh, floor: f.MYC, physical: f.SJC, unit: f.DYH, room: f.SHBW,
        area: num(f.SCTNJZMJ ?? f.YCTNJZMJ), status, title: changes(changed.get(p.bdcdyh)) || f.ZL });
    }
  } else {
    // A diff stored before it listed the package's table: the store's table with the changes
    // marked, and the new households on a row of their own (their places are not known).
    for (const h of storeHouseholds) if (!removed.has(h.BDCDYH)) cells.push(fromStore(h, changed.has(h.BDCDYH) ? "changed" : "unchanged"));
    for (const a of t.added) cells.push({ bdcdyh: a.bdcdyh, hh: a.hh, floor: "新增户", unit: "", room: a.room, area: null, status: "added" });
  }
  for (const code of removed) {
    const h = byCode.get(code);
    cells.push(h ? fromStore(h, "removed") : { bdcdyh: code, hh: code.slice(-4), floor: "—", unit: "", room: "", area: null, status: "removed" });
  }
  const grid = householdGrid(cells, { floors: store.rows, statuses: ["unchanged", "added", "changed", "removed"],
    areaLabel: "实测套内建筑面积 SCTNJZMJ（无则预测 YCTNJZMJ）" });
  grid.dataset.added = String(t.added.length);
  grid.dataset.changed = String(t.changed.length);
  grid.dataset.removed = String(t.removed.length);
  $("building-table-code").textContent = t.zrzh;
  $("building-table-grid").replaceChildren(grid);
  $("building-table").hidden = false;
}

// The findings the reviewer ticked, as the decision API takes them (rule, messages,
// objects, location); none ticked: none sent.
function attachedFindings() {
  return [...document.querySelectorAll("#findings input.attach:checked")]
    .map((box) => shownFindings[Number(box.dataset.index)])
    .filter(Boolean)
    .map((f) => ({ rule: f.rule, severity: f.severity, message_zh: f.message_zh, message_en: f.message_en, objects: f.objects || [], location: f.location }));
}

async function decide(event) {
  event.preventDefault();
  if (!current) return;
  const decision = document.querySelector("input[name=decision]:checked").value;
  const body = { decision, note: $("decision-note").value };
  const reason = $("override-reason").value.trim();
  if (reason) body.override_reason = reason;
  if (decision === "return") body.findings = attachedFindings();
  const resp = await api(`/api/submissions/${current.submission_id}/decision`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!resp.ok) { $("decision-result").textContent = "未能提交 refused: " + (await errorText(resp)); return; }
  const answer = await resp.json();
  const id = current.submission_id;
  await showList();
  await openSubmission(id);
  if (decision === "accept") {
    const codes = Object.entries(answer.codes || {}).map(([k, v]) => `${k} → ${v}`).join("；");
    $("decision-result").textContent = "已入库 accepted。发放代码 codes issued：" + (codes || "无");
  } else {
    $("decision-result").textContent = "已退回 returned";
  }
  $("decision-result").dataset.done = decision;
}

$("login-form").addEventListener("submit", (e) => login(e).catch((err) => { $("login-error").textContent = err.message; $("login-error").hidden = false; }));
$("logout").addEventListener("click", logout);
$("decision-form").addEventListener("submit", (e) => decide(e).catch(report));
if (token()) showList().catch(() => logout());
