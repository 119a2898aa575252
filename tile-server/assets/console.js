// Web console: log in, show what the store holds, draw the caller's parcels.
// Plain script, no build step and no network beyond this server (the internal
// zone has no internet). The token lives in sessionStorage: gone with the tab.
"use strict";

const TOKEN_KEY = "cadastre.token";
const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path) {
  const resp = await fetch(path, { headers: { Authorization: "Bearer " + token() } });
  if (resp.status === 401) { logout(); throw new Error("登录已失效 session expired"); }
  return resp;
}

async function errorText(resp) {
  try { const body = await resp.json(); return body.error.message + " (" + body.error.code + ")"; }
  catch (_) { return "HTTP " + resp.status; }
}

async function login(event) {
  event.preventDefault();
  const kind = document.querySelector("input[name=kind]:checked").value;
  const name = $("username").value.trim();
  const secret = $("password").value;
  const body = kind === "client" ? { client_id: name, client_secret: secret } : { username: name, password: secret };
  $("login-error").hidden = true;
  const resp = await fetch("/api/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!resp.ok) {
    $("login-error").textContent = "登录失败 Login failed: " + (await errorText(resp));
    $("login-error").hidden = false;
    return;
  }
  const answer = await resp.json();
  sessionStorage.setItem(TOKEN_KEY, answer.token);
  $("password").value = "";
  await showConsole();
}

async function logout() {
  const t = token();
  sessionStorage.removeItem(TOKEN_KEY);
  if (t) { fetch("/api/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + t } }).catch(() => {}); }
  for (const id of ["summary-section", "map-section", "logout", "who"]) $(id).hidden = true;
  $("login-section").hidden = false;
}

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

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
  const select = $("county-select");
  select.replaceChildren(...summary.counties.map((c) => new Option(c.county, c.county)));
  if (summary.role === "registration") {
    $("map-section").hidden = false;
    $("map-status").textContent = "登记系统客户端不提供坐标，无地图。 API clients of the registration system get no coordinates, hence no map.";
    return;
  }
  $("map-section").hidden = false;
  if (summary.counties.length > 0) await drawMap(select.value);
}

// Colours by land-use class (GB/T 21010 first two digits).
const USE_COLOURS = { "05": "#f4b183", "06": "#c9b3d9", "07": "#f9e07f", "08": "#9fc5e8", "09": "#b6d7a8" };

async function drawMap(county) {
  const canvas = $("map");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.features = "0";
  $("map-status").textContent = "加载中 loading…";
  const [parcels, buildings] = await Promise.all(
    ["parcels", "buildings"].map(async (layer) => {
      const resp = await api("/api/map/" + layer + "?county=" + encodeURIComponent(county));
      if (!resp.ok) throw new Error(await errorText(resp));
      return resp.json();
    }));
  const rings = (g) => (g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : []);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const f of parcels.features) for (const poly of rings(f.geometry)) for (const [x, y] of poly[0]) {
    minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  if (!isFinite(minX)) {
    $("map-status").textContent = "该县没有宗地。 No parcels in this county.";
    return;
  }
  // Store coordinates are metres (x easting, y northing): one scale for both
  // axes keeps shapes true; y is flipped because the canvas grows downwards.
  const pad = 12;
  const scale = Math.min((canvas.width - 2 * pad) / Math.max(maxX - minX, 1), (canvas.height - 2 * pad) / Math.max(maxY - minY, 1));
  const sx = (x) => pad + (x - minX) * scale;
  const sy = (y) => canvas.height - pad - (y - minY) * scale;
  const trace = (poly) => {
    ctx.beginPath();
    for (const ring of poly) ring.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    ctx.closePath();
  };
  let drawn = 0;
  for (const f of parcels.features) {
    ctx.fillStyle = USE_COLOURS[(f.properties.YT || "").slice(0, 2)] || "#e3e8ee";
    ctx.strokeStyle = "#44546a";
    ctx.lineWidth = 0.8;
    for (const poly of rings(f.geometry)) { trace(poly); ctx.fill("evenodd"); ctx.stroke(); }
    drawn += 1;
  }
  ctx.fillStyle = "rgba(90, 90, 90, 0.55)";
  for (const f of buildings.features) for (const poly of rings(f.geometry)) { trace(poly); ctx.fill("evenodd"); }
  canvas.dataset.features = String(drawn);
  canvas.dataset.buildings = String(buildings.features.length);
  const more = parcels.truncated ? "（仅显示前 " + drawn + " 宗 / first " + drawn + " of " + parcels.total + "）" : "";
  $("map-status").textContent = "已绘制 " + drawn + " 宗地、" + buildings.features.length + " 幢 · drew " + drawn +
    " parcels and " + buildings.features.length + " buildings (EPSG:" + parcels.srid + ")" + more;
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
$("county-select").addEventListener("change", (e) => drawMap(e.target.value).catch(report));
if (token()) showConsole().catch(() => logout());
