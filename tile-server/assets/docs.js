// Renders /api/openapi.json as a readable list of operations (no CDN, no
// Swagger UI: the internal zone has no internet).
import { $, api, token } from "/assets/api.js";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function render() {
  if (!token()) return;
  const resp = await api("/api/openapi.json");
  if (!resp.ok) { $("docs-status").textContent = "无法读取 cannot read the API document: HTTP " + resp.status; return; }
  const spec = await resp.json();
  $("docs-status").hidden = true;
  $("docs-title").textContent = spec.info.title + " " + spec.info.version;
  $("docs-description").textContent = spec.info.description || "";
  const list = $("paths");
  for (const [path, item] of Object.entries(spec.paths).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "put", "post", "delete", "patch"].includes(method)) continue;
      const li = el("li");
      li.dataset.operation = method.toUpperCase() + " " + path;
      li.append(el("span", "method", method.toUpperCase()), el("span", "path", path));
      const summary = [op.summary, op.description].filter(Boolean).join(" ");
      if (summary) li.append(el("div", "params", summary));
      const params = (op.parameters || []).map((p) => p.name + " (" + p.in + (p.required ? ", required" : "") + ")");
      if (params.length) li.append(el("div", "params", "参数 parameters: " + params.join(", ")));
      const codes = Object.keys(op.responses || {}).join(" ");
      li.append(el("div", "params", "响应 responses: " + codes));
      list.append(li);
    }
  }
}

$("openapi-link").addEventListener("click", async (e) => {
  e.preventDefault();
  if (!token()) return;
  const resp = await api("/api/openapi.json");
  const blob = new Blob([JSON.stringify(await resp.json(), null, 2)], { type: "application/json" });
  window.open(URL.createObjectURL(blob), "_blank");
});
render().catch((err) => { $("docs-status").textContent = "出错 error: " + err.message; });
