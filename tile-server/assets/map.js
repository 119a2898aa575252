// The cadastral map, reusable by every console page: `createMap(element, options)`
// builds a MapLibre GL JS map of this server's vector tiles into `element`.
// Nothing comes from the internet: the library is served by this server (npm
// package, see tile-server/console/package.json), the style has no basemap and
// labels are drawn from the browser's local fonts.
//
// What the map does by itself:
// - sends the caller's token with every tile request (transformRequest);
// - listens to /tiles/events and re-fetches exactly the tiles an edit touched
//   (map.refreshTiles), so it never shows a parcel as it was before an edit: also
//   tiles MapLibre keeps out of view and would show again unreloaded (see `refresh`);
// - a scale bar, and the cursor position in the store's Gauss-Krüger CRS,
//   written as surveyors do: X = northing, Y = easting;
// - a click reports the parcel under the cursor to `options.onIdentify`.
//
// State for tests and other pages is mirrored in data- attributes of `element`:
// data-ready (style loaded), data-parcels (parcels rendered at the last idle),
// data-refreshes (map.refreshTiles calls after edits), data-events (open),
// data-tile-requests (tile requests made), data-pending (tiles an edit made stale that
// are out of view, reloaded when they come back); `element.cadastreTileLog` lists the
// last tile requests as "layer/z/x/y".
import * as maplibregl from "/assets/vendor/maplibre-gl/maplibre-gl.mjs";

const HALF_WORLD = 20037508.342789244;
/// Tiles remembered per layer for refreshing after edits; past it the layer is reloaded whole.
const MAX_REMEMBERED_TILES = 20000;
const EXTENT = 4096;
const BUFFER = 64;
/// Layer groups of the layers panel: the style's layer ids start with these.
export const LAYER_GROUPS = [
  ["subdistricts", "地籍子区 Sub-districts"],
  ["parcels", "宗地 Parcels"],
  ["buildings", "自然幢 Buildings"],
  ["points", "界址点 Boundary points"],
];

// ---- Transverse Mercator (Gauss-Krüger), Krüger's series to n^6 (Karney 2011) ----

const ELLIPSOIDS = { GRS80: [6378137, 298.257222101], WGS84: [6378137, 298.257223563], krass: [6378245, 298.3], IAU76: [6378140, 298.257] };

/// Parameters of a `+proj=tmerc` PROJ.4 string (as in spatial_ref_sys), or null.
export function parseTmerc(proj4) {
  const get = (k) => { const m = (proj4 || "").match(new RegExp("\\+" + k + "=([^ ]+)")); return m ? m[1] : null; };
  if (get("proj") !== "tmerc") return null;
  let [a, rf] = ELLIPSOIDS[get("ellps")] || ELLIPSOIDS.GRS80;
  if (get("a")) { a = Number(get("a")); rf = get("rf") ? Number(get("rf")) : (get("b") ? a / (a - Number(get("b"))) : Infinity); }
  const f = Number.isFinite(rf) ? 1 / rf : 0;
  const n = f / (2 - f), n2 = n * n, n3 = n2 * n, n4 = n3 * n, n5 = n4 * n, n6 = n5 * n;
  return {
    a, f, e: Math.sqrt(f * (2 - f)),
    lon0: Number(get("lon_0") || 0) * Math.PI / 180,
    k0: Number(get("k_0") || get("k") || 1), x0: Number(get("x_0") || 0), y0: Number(get("y_0") || 0),
    A: a / (1 + n) * (1 + n2 / 4 + n4 / 64 + n6 / 256),
    alpha: [
      n / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 + 7891 * n6 / 37800,
      13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360,
      61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440,
      49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600,
      34729 * n5 / 80640 - 3418889 * n6 / 1995840,
      212378941 * n6 / 319334400,
    ],
    beta: [
      n / 2 - 2 * n2 / 3 + 37 * n3 / 96 - n4 / 360 - 81 * n5 / 512 + 96199 * n6 / 604800,
      n2 / 48 + n3 / 15 - 437 * n4 / 1440 + 46 * n5 / 105 - 1118711 * n6 / 3870720,
      17 * n3 / 480 - 37 * n4 / 840 - 209 * n5 / 4480 + 5569 * n6 / 90720,
      4397 * n4 / 161280 - 11 * n5 / 504 - 830251 * n6 / 7257600,
      4583 * n5 / 161280 - 108847 * n6 / 3991680,
      20648693 * n6 / 638668800,
    ],
  };
}

/// Longitude/latitude (degrees) to [easting, northing] in the zone.
export function toZone(p, lon, lat) {
  const phi = lat * Math.PI / 180, lam = lon * Math.PI / 180 - p.lon0;
  const tau = Math.tan(phi), sigma = Math.sinh(p.e * Math.atanh(p.e * tau / Math.sqrt(1 + tau * tau)));
  const taup = tau * Math.sqrt(1 + sigma * sigma) - sigma * Math.sqrt(1 + tau * tau);
  const xip = Math.atan2(taup, Math.cos(lam)), etap = Math.asinh(Math.sin(lam) / Math.sqrt(taup * taup + Math.cos(lam) ** 2));
  let xi = xip, eta = etap;
  p.alpha.forEach((al, i) => {
    const j = 2 * (i + 1);
    xi += al * Math.sin(j * xip) * Math.cosh(j * etap);
    eta += al * Math.cos(j * xip) * Math.sinh(j * etap);
  });
  return [p.k0 * p.A * eta + p.x0, p.k0 * p.A * xi + p.y0];
}

/// [easting, northing] in the zone to [longitude, latitude] (degrees).
export function fromZone(p, x, y) {
  const eta = (x - p.x0) / (p.k0 * p.A), xi = (y - p.y0) / (p.k0 * p.A);
  let xip = xi, etap = eta;
  p.beta.forEach((be, i) => {
    const j = 2 * (i + 1);
    xip -= be * Math.sin(j * xi) * Math.cosh(j * eta);
    etap -= be * Math.cos(j * xi) * Math.sinh(j * eta);
  });
  const sh = Math.sinh(etap), sx = Math.sin(xip), cx = Math.cos(xip);
  const taup = sx / Math.sqrt(sh * sh + cx * cx);
  const e2 = p.e * p.e;
  let tau = taup;
  for (let k = 0; k < 10; k++) {
    const s = Math.sinh(p.e * Math.atanh(p.e * tau / Math.sqrt(1 + tau * tau)));
    const ti = tau * Math.sqrt(1 + s * s) - s * Math.sqrt(1 + tau * tau);
    const d = (taup - ti) / Math.sqrt(1 + ti * ti) * (1 + (1 - e2) * tau * tau) / ((1 - e2) * Math.sqrt(1 + tau * tau));
    tau += d;
    if (Math.abs(d) < 1e-13) break;
  }
  return [(p.lon0 + Math.atan2(sh, cx)) * 180 / Math.PI, Math.atan(tau) * 180 / Math.PI];
}

// ---- Tiles an edit touched (the server's rule: tile extent plus buffer meets a box) ----

/// Whether tile z/x/y's buffered extent meets Web Mercator box b (the rule of tilesTouching).
export function tileTouches(b, z, x, y) {
  const w = 2 * HALF_WORLD / 2 ** z, buf = w * BUFFER / EXTENT;
  const x0 = x * w - HALF_WORLD, y1 = HALF_WORLD - y * w;
  return b[0] - buf <= x0 + w && b[2] + buf >= x0 && b[1] - buf <= y1 && b[3] + buf >= y1 - w;
}

/// Longitude/latitude (degrees) to Web Mercator metres.
export function toMercator(lng, lat) {
  const y = Math.log(Math.tan(Math.PI / 4 + Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI / 360));
  return [lng * HALF_WORLD / 180, y * HALF_WORLD / Math.PI];
}

/// Tile ids {z, x, y} at zoom z whose buffered extent meets Web Mercator box b.
export function tilesTouching(b, z) {
  const n = 2 ** z, w = 2 * HALF_WORLD / n, buf = w * BUFFER / EXTENT;
  const clamp = (v) => Math.min(n - 1, Math.max(0, Math.floor(v)));
  const x0 = clamp((b[0] - buf + HALF_WORLD) / w), x1 = clamp((b[2] + buf + HALF_WORLD) / w);
  const y0 = clamp((HALF_WORLD - (b[3] + buf)) / w), y1 = clamp((HALF_WORLD - (b[1] - buf)) / w);
  const out = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.push({ z, x, y });
  return out;
}

// ---- Server push ----

/// Reads the server-sent events of /tiles/events with the token (EventSource
/// cannot send headers) and calls onEvent(type, data) for each; reconnects.
async function listenEvents(token, onEvent, signal) {
  while (!signal.aborted) {
    try {
      const resp = await fetch("/tiles/events", { headers: { Authorization: "Bearer " + token }, signal });
      if (resp.status === 401 || resp.status === 403) return;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let type = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) onEvent(type, JSON.parse(data));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
    }
    onEvent("closed", {});
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// ---- The map ----

/// Builds the map into `element`. Options: token (required), onIdentify(feature
/// properties or null, lngLat), coordsElement (gets the cursor coordinates),
/// onStatus(text). Returns a controller.
export async function createMap(element, options) {
  const token = options.token;
  const auth = { Authorization: "Bearer " + token };
  const resp = await fetch("/tiles/style.json", { headers: auth });
  if (!resp.ok) throw new Error("style: HTTP " + resp.status);
  const style = await resp.json();
  // Relative tile URLs (no Host header) become absolute, as MapLibre wants.
  for (const src of Object.values(style.sources)) {
    src.tiles = src.tiles.map((u) => new URL(u, location.origin).href.replace(/%7B/g, "{").replace(/%7D/g, "}"));
  }
  const crs = style.metadata["cadastre:crs"];
  const zone = parseTmerc(crs.proj4);
  const bounds = style.metadata["cadastre:bounds"];
  // Every tile the map requested, per layer ("z/x/y"): what MapLibre may hold, in view or cached.
  const requested = new Map();
  const tileLog = [];
  element.dataset.tileRequests = "0";
  element.cadastreTileLog = tileLog;
  const noteRequest = (url) => {
    const m = /\/tiles\/([a-z_]+)\/(\d+)\/(\d+)\/(\d+)\.mvt/.exec(url);
    if (!m) return;
    const [, layer, z, x, y] = m;
    if (!requested.has(layer)) requested.set(layer, new Set());
    const seen = requested.get(layer);
    seen.add(`${z}/${x}/${y}`);
    tileLog.push(`${layer}/${z}/${x}/${y}`);
    if (tileLog.length > 2000) tileLog.splice(0, tileLog.length - 1000);
    element.dataset.tileRequests = String(Number(element.dataset.tileRequests) + 1);
    // Past the bound, start over: reload the layer and drop MapLibre's cache of it (below).
    if (seen.size > MAX_REMEMBERED_TILES) { seen.clear(); setTimeout(() => refresh(layer, null), 0); }
  };
  const map = new maplibregl.Map({
    container: element,
    style,
    bounds: bounds ? [[bounds[0], bounds[1]], [bounds[2], bounds[3]]] : undefined,
    center: bounds ? undefined : [120, 30],
    zoom: bounds ? undefined : 3,
    maxZoom: 22,
    // North up, seen from above (a cadastral map); it also keeps the view a box (see `refreshInView`).
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    maxPitch: 0,
    attributionControl: false,
    // The tile requests carry the token; nothing else leaves for another origin.
    transformRequest: (url) => {
      if (!url.startsWith(location.origin)) return { url };
      noteRequest(url);
      return { url, headers: auth };
    },
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric", maxWidth: 120 }), "bottom-left");
  element.dataset.ready = "0";
  element.dataset.refreshes = "0";
  map.on("load", () => { element.dataset.ready = "1"; });
  element.dataset.idle = "0";
  map.on("idle", () => {
    const codes = new Set(map.queryRenderedFeatures({ layers: ["parcels-fill"] }).map((f) => f.properties.ZDDM));
    element.dataset.parcels = String(codes.size);
    element.dataset.zoom = map.getZoom().toFixed(2);
    element.dataset.idle = String(Number(element.dataset.idle) + 1);
  });
  // For other pages' scripts and for tests driving the page.
  element.cadastreMap = map;
  map.on("error", (e) => options.onStatus && options.onStatus("地图出错 map error: " + (e.error && e.error.message)));

  if (options.coordsElement) {
    const out = options.coordsElement;
    map.on("mousemove", (e) => {
      if (!zone) { out.textContent = `${e.lngLat.lat.toFixed(6)}°N ${e.lngLat.lng.toFixed(6)}°E`; return; }
      const [east, north] = toZone(zone, e.lngLat.lng, e.lngLat.lat);
      out.textContent = `X ${north.toFixed(2)}  Y ${east.toFixed(2)}  (EPSG:${crs.srid})`;
      out.dataset.x = north.toFixed(3);
      out.dataset.y = east.toFixed(3);
      out.dataset.lngLat = e.lngLat.lng.toFixed(10) + "," + e.lngLat.lat.toFixed(10);
    });
  }

  map.on("click", (e) => {
    const hit = map.queryRenderedFeatures(e.point, { layers: ["parcels-fill"] })[0];
    if (options.onIdentify) options.onIdentify(hit ? hit.properties : null, e.lngLat);
  });
  for (const id of ["parcels-fill"]) {
    map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
  }

  // An edit committed anywhere: re-fetch the tiles it touched. map.refreshTiles reloads
  // only tiles in view; MapLibre also keeps tiles that left the view in a cache and shows
  // them again, without reloading, when their area comes back (TileManager._addTile takes
  // them from _outOfViewCache). So every tile the map requested before the edit that the
  // edit touches, at any zoom, becomes pending, and a pending tile is reloaded once it is
  // in view and loaded: now if it is, else at the first `idle` that finds it in view.
  const pending = new Map();
  const countPending = () => { element.dataset.pending = String([...pending.values()].reduce((n, p) => n + p.size, 0)); };
  const refresh = (layer, boxes) => {
    const sources = layer ? [layer] : Object.keys(style.sources);
    for (const source of sources) {
      if (!map.getSource(source)) continue;
      if (!boxes) {
        // The whole layer: reload what is in view; MapLibre drops its out-of-view cache too.
        map.refreshTiles(source);
        pending.delete(source);
        element.dataset.refreshes = String(Number(element.dataset.refreshes) + 1);
        element.dataset.lastRefresh = JSON.stringify({ source, tiles: "all" });
        continue;
      }
      if (!pending.has(source)) pending.set(source, new Set());
      const stale = pending.get(source);
      for (const key of requested.get(source) || []) {
        const [z, x, y] = key.split("/").map(Number);
        if (boxes.some((b) => tileTouches(b, z, x, y))) stale.add(key);
      }
    }
    countPending();
    refreshInView();
  };
  /// Reloads the pending tiles in view: those of each used layer at the map's tile zoom
  /// whose extent meets the view. Only once every tile is loaded (map.refreshTiles skips a
  /// tile still loading, and its request may predate the edit): `idle` calls it again.
  const refreshInView = () => {
    if (![...pending.values()].some((p) => p.size) || !map.loaded()) return;
    const zoom = map.getZoom();
    const b = map.getBounds();
    const [w, s] = toMercator(b.getWest(), b.getSouth()), [e, n] = toMercator(b.getEast(), b.getNorth());
    const layers = map.getStyle().layers;
    for (const [source, stale] of pending) {
      if (!stale.size) continue;
      // A layer hidden (layers panel) or outside its zooms loads no tiles: it waits.
      const used = layers.some((l) => l.source === source && (l.layout || {}).visibility !== "none" &&
        zoom >= (l.minzoom ?? 0) && zoom < (l.maxzoom ?? 24));
      const spec = style.sources[source];
      const tz = Math.min(Math.floor(zoom), spec.maxzoom ?? 22);
      if (!used || tz < (spec.minzoom ?? 0)) continue;
      const size = 2 * HALF_WORLD / 2 ** tz;
      const ids = [];
      for (const key of stale) {
        const [z, x, y] = key.split("/").map(Number);
        if (z !== tz) continue;
        const x0 = x * size - HALF_WORLD, y1 = HALF_WORLD - y * size;
        if (x0 < e && x0 + size > w && y1 > s && y1 - size < n) { ids.push({ z, x, y }); stale.delete(key); }
      }
      if (!ids.length) continue;
      map.refreshTiles(source, ids);
      element.dataset.refreshes = String(Number(element.dataset.refreshes) + 1);
      element.dataset.lastRefresh = JSON.stringify({ source, tiles: ids.length });
    }
    countPending();
  };
  map.on("idle", refreshInView);
  const stop = new AbortController();
  listenEvents(token, (type, data) => {
    if (type === "ready") element.dataset.events = "open";
    else if (type === "closed") element.dataset.events = "closed";
    else if (type === "tiles") refresh(data.layer, data.boxes);
  }, stop.signal);

  return {
    map,
    crs,
    zone,
    /// Shows or hides every style layer of a group (LAYER_GROUPS).
    setGroupVisible(group, on) {
      for (const l of map.getStyle().layers) {
        if (l.id.startsWith(group + "-")) map.setLayoutProperty(l.id, "visibility", on ? "visible" : "none");
      }
    },
    /// Outlines one parcel (or none).
    highlight(zddm) {
      map.setFilter("parcels-selected", ["==", ["get", "ZDDM"], zddm || ""]);
    },
    /// Flies to a GeoJSON geometry given in the store CRS.
    flyToGeometry(geometry) {
      const pts = [];
      const walk = (c) => (typeof c[0] === "number" ? pts.push(c) : c.forEach(walk));
      walk(geometry.coordinates);
      if (!pts.length || !zone) return false;
      const ll = pts.map(([x, y]) => fromZone(zone, x, y));
      const w = Math.min(...ll.map((p) => p[0])), e = Math.max(...ll.map((p) => p[0]));
      const s = Math.min(...ll.map((p) => p[1])), n = Math.max(...ll.map((p) => p[1]));
      map.fitBounds([[w, s], [e, n]], { padding: 80, maxZoom: 19, duration: 800 });
      return true;
    },
    destroy() { stop.abort(); map.remove(); },
  };
}
