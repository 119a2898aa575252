// The building-table grid (楼盘表) of the console and the reviewers' page, read-only:
// rows are the nominal floors (名义层), top floor first; columns are grouped by stair
// unit (单元), then by room (室号) within the floor; each cell is one household with its
// room number and area, coloured by its status. A position that holds two households (a
// household the submission removes and the new one in its place) gets two cells side by side.
//
// `householdGrid(cells, options)` returns an element (the grid and its legend). A cell is
// {bdcdyh, hh, floor (MYC), physical (SJC, number or null), unit (DYH), room (SHBW),
//  area (number or null), status, mortgaged, sealed, title}; status is one of STATUS.

/// Statuses and their legend text. `current` is the store's own state outside a submission;
/// in a submission's view `unchanged` households are those the package keeps as they are.
export const STATUS = {
  current: "现状 current",
  unchanged: "未变 unchanged",
  added: "新增 added",
  changed: "变更 changed",
  removed: "灭失 removed",
};

const natural = (a, b) => String(a).localeCompare(String(b), "zh-CN", { numeric: true });

/// The room's column within its unit: the room number without the floor's prefix
/// (101, 201 and 301 are one column "01"), else the whole room number.
export function roomColumn(floor, room) {
  const f = String(floor ?? ""), r = String(room ?? "");
  return f && r.length > f.length && r.startsWith(f) ? r.slice(f.length) : r;
}

function floorLabel(f) {
  return f.cmc || (/^-?\d+$/.test(f.myc) ? `第${f.myc}层` : f.myc || "—");
}

/// options: floors [{myc, cmc, sjc: [..]}] (rows without households still show), areaLabel,
/// statuses (the legend's, in order), flags (legend markers for mortgaged / sealed).
export function householdGrid(cells, options = {}) {
  // Rows: every floor named by the floor list or by a household, highest physical floor first.
  const floors = new Map();
  const floorOf = (myc) => {
    const key = String(myc ?? "");
    if (!floors.has(key)) floors.set(key, { myc: key, cmc: "", top: -Infinity });
    return floors.get(key);
  };
  for (const f of options.floors || []) {
    const row = floorOf(f.MYC ?? f.myc);
    row.cmc = row.cmc || f.CMC || f.cmc || "";
    for (const s of f.SJC || f.sjc || []) row.top = Math.max(row.top, Number(s));
  }
  for (const c of cells) {
    const row = floorOf(c.floor);
    const s = c.physical === null || c.physical === undefined || c.physical === "" ? Number(c.floor) : Number(c.physical);
    if (Number.isFinite(s)) row.top = Math.max(row.top, s);
  }
  const rows = [...floors.values()].sort((a, b) =>
    (Number.isFinite(b.top) ? b.top : -Infinity) - (Number.isFinite(a.top) ? a.top : -Infinity) || natural(b.myc, a.myc));

  // Columns: units, then rooms within the floor; as many cells per column as its fullest floor needs.
  const units = new Map();
  const at = new Map();
  for (const c of cells) {
    const unit = String(c.unit ?? ""), col = roomColumn(c.floor, c.room);
    if (!units.has(unit)) units.set(unit, new Map());
    const key = `${c.floor}\u0000${unit}\u0000${col}`;
    if (!at.has(key)) at.set(key, []);
    at.get(key).push(c);
    const cols = units.get(unit);
    cols.set(col, Math.max(cols.get(col) || 0, at.get(key).length));
  }
  const order = { removed: 0, changed: 1, unchanged: 2, current: 2, added: 3 };
  for (const list of at.values()) list.sort((a, b) => (order[a.status] ?? 2) - (order[b.status] ?? 2) || natural(a.hh, b.hh));
  const unitList = [...units.keys()].sort(natural);

  const table = document.createElement("table");
  table.className = "bt-grid";
  const head = table.createTHead();
  const unitRow = head.insertRow();
  const roomRow = head.insertRow();
  const corner = document.createElement("th");
  corner.rowSpan = 2;
  corner.className = "bt-corner";
  corner.textContent = "名义层 \\ 单元·室";
  unitRow.append(corner);
  for (const unit of unitList) {
    const cols = [...units.get(unit).entries()].sort((a, b) => natural(a[0], b[0]));
    const th = document.createElement("th");
    th.colSpan = cols.reduce((n, [, width]) => n + width, 0);
    th.className = "bt-unit";
    th.dataset.unit = unit;
    th.textContent = unit ? `${unit}单元` : "—";
    unitRow.append(th);
    for (const [col, width] of cols) {
      const r = document.createElement("th");
      r.colSpan = width;
      r.className = "bt-room";
      r.dataset.unit = unit;
      r.dataset.column = col;
      r.textContent = col || "—";
      roomRow.append(r);
    }
  }
  const body = table.createTBody();
  for (const f of rows) {
    const tr = body.insertRow();
    tr.dataset.floor = f.myc;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = floorLabel(f);
    tr.append(th);
    for (const unit of unitList) {
      for (const [col, width] of [...units.get(unit).entries()].sort((a, b) => natural(a[0], b[0]))) {
        const here = at.get(`${f.myc}\u0000${unit}\u0000${col}`) || [];
        for (let i = 0; i < width; i++) {
          const c = here[i];
          const td = tr.insertCell();
          td.dataset.unit = unit;
          td.dataset.column = col;
          if (!c) { td.className = "empty"; continue; }
          td.className = `hh ${c.status}` + (c.mortgaged ? " mortgaged" : "") + (c.sealed ? " sealed" : "");
          td.dataset.floor = f.myc;
          td.dataset.room = c.room ?? "";
          td.dataset.hh = c.hh ?? "";
          td.dataset.status = c.status;
          if (c.bdcdyh) td.dataset.bdcdyh = c.bdcdyh;
          const room = document.createElement("b");
          room.textContent = c.room || "—";
          const area = document.createElement("span");
          area.className = "area";
          area.textContent = typeof c.area === "number" ? c.area.toFixed(2) + " m²" : "— m²";
          td.append(room, area);
          td.title = [`${STATUS[c.status] || c.status}`, c.bdcdyh || `户号 ${c.hh}（入库时赋码 code issued on acceptance）`,
            c.title || "", c.mortgaged ? "抵押 mortgaged" : "", c.sealed ? "查封 sealed" : ""].filter(Boolean).join("\n");
        }
      }
    }
  }

  const legend = document.createElement("p");
  legend.className = "bt-legend";
  const label = document.createElement("span");
  label.textContent = "图例 Legend：";
  legend.append(label);
  for (const s of options.statuses || Object.keys(STATUS)) {
    const item = document.createElement("span");
    item.className = "bt-key";
    const sw = document.createElement("span");
    sw.className = `bt-swatch ${s}`;
    item.append(sw, STATUS[s] || s);
    legend.append(item);
  }
  for (const [flag, text] of options.flags || []) {
    const item = document.createElement("span");
    item.className = "bt-key";
    const sw = document.createElement("span");
    sw.className = `bt-swatch current ${flag}`;
    item.append(sw, text);
    legend.append(item);
  }
  if (options.areaLabel) {
    const note = document.createElement("span");
    note.className = "bt-note";
    note.textContent = "面积为 " + options.areaLabel;
    legend.append(note);
  }
  const wrap = document.createElement("div");
  wrap.className = "bt";
  const scroller = document.createElement("div");
  scroller.className = "bt-scroll";
  scroller.append(table);
  wrap.append(legend, scroller);
  wrap.dataset.cells = String(cells.length);
  return wrap;
}
