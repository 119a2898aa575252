// Web console: log in, show what the store holds, the cadastral map
// (assets/map.js) with layers, identify, search and building tables.
// An ES module, no build step and no network beyond this server (the internal
// zone has no internet). The token and API helpers come from assets/api.js.
import { createMap, LAYER_GROUPS } from "/assets/map.js";
import { householdGrid } from "/assets/table.js";
import { $, api, endSession, errorText, login as startSession, onSessionExpired, token } from "/assets/api.js";

async function login(event) {
  event.preventDefault();
  const kind = document.querySelector("input[name=kind]:checked").value;
  const name = $("username").value.trim();
  const secret = $("password").value;
  const body = kind === "client" ? { client_id: name, client_secret: secret } : { username: name, password: secret };
  $("login-error").hidden = true;
  try { await startSession(body); } catch (err) {
    $("login-error").textContent = "登录失败 Login failed: " + err.message;
    $("login-error").hidden = false;
    return;
  }
  $("password").value = "";
  await showConsole();
}

async function logout() {
  endSession();
  hideConsole();
}

function hideConsole() {
  for (const id of ["summary-section", "map-section", "table-section", "logout", "who"]) $(id).hidden = true;
  if (mapView) { mapView.destroy(); mapView = null; $("layers-panel").replaceChildren(Object.assign(document.createElement("legend"), { textContent: "图层 Layers" })); }
  $("login-section").hidden = false;
}

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

onSessionExpired(hideConsole);

async function showConsole() {
  const resp = await api("/api/summary");
  if (!resp.ok) throw new Error(await errorText(resp));
  const summary = await resp.json();
  $("login-section").hidden = true;
  $("logout").hidden = false;
  $("who").textContent = "角色 role: " + summary.role;
  $("who").hidden = false;
  const body = document.querySelector("#summary tbody");
  body.replaceChildren();
  for (const c of summary.counties) {
    const tr = document.createElement("tr");
    tr.dataset.county = c.county;
    const when = c.last_write ? new Date(c.last_write).toLocaleString("zh-CN") : "—";
    for (const v of [c.county, c.parcels, c.buildings, c.households, c.sub_districts, when]) tr.append(cell(v));
    body.append(tr);
  }
  $("summary-section").hidden = false;
  $("map-section").hidden = false;
  if (summary.role === "registration") {
    $("map-status").textContent = "登记系统客户端不提供坐标，无地图。 API clients of the registration system get no coordinates, hence no map.";
    $("map").hidden = true;
    return;
  }
  $("map").hidden = false;
  await showMap();
}

// ---- The map (assets/map.js) and its panels ----

let mapView = null;

async function showMap() {
  if (mapView) return;
  $("map-status").textContent = "加载中 loading…";
  mapView = await createMap($("map"), {
    token: token(),
    coordsElement: $("cursor-coords"),
    onIdentify: (props) => identify(props && props.ZDDM).catch(report),
    onStatus: (text) => { $("map-status").textContent = text; },
  });
  const panel = $("layers-panel");
  for (const [group, title] of LAYER_GROUPS) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.dataset.group = group;
    box.addEventListener("change", () => mapView.setGroupVisible(group, box.checked));
    label.append(box, " " + title);
    panel.append(label);
  }
  $("map-status").textContent = "坐标系 CRS EPSG:" + mapView.crs.srid + " · 宗地自 z14、自然幢自 z15、界址点自 z18 显示 " +
    "(parcels from zoom 14, buildings from 15, boundary points from 18)";
}

function row(table, key, value) {
  const tr = document.createElement("tr");
  const th = document.createElement("th");
  th.textContent = key;
  tr.append(th, cell(value === null || value === undefined || value === "" ? "—" : String(value)));
  table.append(tr);
}

/// The identify panel: the parcel's attributes and its buildings, each with a link to its building table.
async function identify(zddm) {
  mapView.highlight(zddm);
  if (!zddm) { $("identify-panel").hidden = true; return; }
  const [parcelResp, buildingsResp] = await Promise.all([
    api("/api/parcels/" + encodeURIComponent(zddm)),
    api("/api/buildings?per_page=100&zddm=" + encodeURIComponent(zddm)),
  ]);
  if (!parcelResp.ok) throw new Error(await errorText(parcelResp));
  const p = await parcelResp.json();
  const table = $("identify-attributes");
  table.replaceChildren();
  for (const [k, label] of [["ZDDM", "宗地代码 ZDDM"], ["ZL", "坐落 ZL"], ["ZDMJ", "宗地面积 ZDMJ m²"], ["YT", "用途 YT"],
    ["QLLX", "权利类型 QLLX"], ["QLXZ", "权利性质 QLXZ"], ["DJZQDM", "地籍子区 DJZQDM"], ["state", "状态 state"]]) row(table, label, p[k]);
  $("identify-code").textContent = p.ZDDM;
  const list = $("identify-buildings");
  list.replaceChildren();
  const buildings = buildingsResp.ok ? (await buildingsResp.json()).items : [];
  for (const b of buildings) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#table=" + b.ZRZH;
    a.textContent = "楼盘表 building table";
    a.dataset.zrzh = b.ZRZH;
    a.addEventListener("click", (e) => { e.preventDefault(); showTable(b.ZRZH).catch(report); });
    li.append(b.ZRZH + " " + (b.JZWMC || "") + " · ", a);
    list.append(li);
  }
  if (!buildings.length) list.append(Object.assign(document.createElement("li"), { textContent: "无 none" }));
  $("identify-panel").dataset.zddm = p.ZDDM;
  $("identify-panel").hidden = false;
}

/// The building table (楼盘表) as a grid: nominal floors top to bottom, stair units and
/// rooms left to right, each household coloured by its state in the store (assets/table.js).
async function showTable(zrzh) {
  const resp = await api("/api/buildings/" + encodeURIComponent(zrzh) + "/table");
  if (!resp.ok) throw new Error(await errorText(resp));
  const t = await resp.json();
  $("table-code").textContent = zrzh + (t.building && t.building.ZL ? " · " + t.building.ZL : "");
  const cells = [];
  for (const r of t.rows || []) {
    for (const h of r.households || []) {
      cells.push({ bdcdyh: h.BDCDYH, hh: h.BDCDYH ? h.BDCDYH.slice(-4) : "", floor: h.MYC, physical: h.SJC, unit: h.DYH,
        room: h.SHBW, area: h.SCJZMJ ?? h.YCJZMJ ?? null, status: h.state || "current", mortgaged: h.mortgaged, sealed: h.sealed,
        title: [h.ZL, h.HX, h.FWYT].filter(Boolean).join(" · ") });
    }
  }
  const grid = householdGrid(cells, {
    floors: t.rows, statuses: ["current"], areaLabel: "实测建筑面积 SCJZMJ（无则预测 YCJZMJ）",
    flags: [["mortgaged", "抵押 mortgaged"], ["sealed", "查封 sealed"]],
  });
  grid.dataset.households = String(t.household_count ?? cells.length);
  $("table-grid").replaceChildren(grid);
  $("table-section").dataset.zrzh = zrzh;
  $("table-section").hidden = false;
  $("table-section").scrollIntoView({ behavior: "smooth" });
}

/// Search by code (ZDDM or BDCDYH: straight to the parcel) or by address (/api/search).
async function search(event) {
  event.preventDefault();
  const text = $("search-input").value.trim();
  const results = $("search-results");
  results.replaceChildren();
  results.hidden = true;
  if (!text) return;
  if (/^\d{12}[GJZ][A-Z0]\d{5}([FLQW]\d{8})?$/.test(text)) { await flyToParcel(text.slice(0, 19)); return; }
  const resp = await api("/api/search?per_page=20&zl=" + encodeURIComponent(text));
  if (!resp.ok) throw new Error(await errorText(resp));
  const hits = (await resp.json()).items;
  for (const h of hits) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link";
    b.textContent = h.code + " " + h.ZL;
    b.addEventListener("click", () => flyToParcel(h.code.slice(0, 19)).catch(report));
    li.append(b);
    results.append(li);
  }
  if (!hits.length) results.append(Object.assign(document.createElement("li"), { textContent: "没有结果 no match" }));
  results.hidden = false;
  if (hits.length) await flyToParcel(hits[0].code.slice(0, 19));
}

async function flyToParcel(zddm) {
  const resp = await api("/api/parcels/" + encodeURIComponent(zddm));
  if (!resp.ok) throw new Error(await errorText(resp));
  const p = await resp.json();
  if (!p.geometry || !mapView.flyToGeometry(p.geometry)) throw new Error("宗地无图形 parcel has no geometry: " + zddm);
  await identify(zddm);
}

async function openSpec(event) {
  event.preventDefault();
  if (!token()) { alert("请先登录 Log in first: the API document needs a token."); return; }
  const resp = await api("/api/openapi.json");
  const blob = new Blob([JSON.stringify(await resp.json(), null, 2)], { type: "application/json" });
  window.open(URL.createObjectURL(blob), "_blank");
}

function report(err) {
  $("map-status").textContent = "出错 error: " + err.message;
  console.error(err);
}

$("login-form").addEventListener("submit", (e) => login(e).catch((err) => {
  $("login-error").textContent = "登录失败 Login failed: " + err.message;
  $("login-error").hidden = false;
}));
$("logout").addEventListener("click", () => logout());
$("openapi-link").addEventListener("click", (e) => openSpec(e).catch(report));
$("search-form").addEventListener("submit", (e) => search(e).catch(report));
$("identify-close").addEventListener("click", () => identify(null).catch(report));
if (token()) showConsole().catch(() => logout());
