//! The console's MapLibre style (`/tiles/style.json`): the four cadastral layers
//! on a plain background. No basemap and no glyph server: the internal zone is
//! offline, so labels are drawn by the browser from local fonts (MapLibre draws
//! every glyph locally when the style has no `glyphs` URL).
//!
//! ```
//! let style = tile_server::http::map_style::style("http://h", None, 4549, "+proj=tmerc +lon_0=120");
//! assert_eq!(style["version"], 8);
//! assert!(style.get("glyphs").is_none());
//! assert_eq!(style["sources"]["parcels"]["tiles"][0], "http://h/tiles/parcels/{z}/{x}/{y}.mvt");
//! assert_eq!(style["metadata"]["cadastre:crs"]["srid"], 4549);
//! let review = style["layers"].as_array().unwrap().iter().find(|l| l["id"] == "parcels-review").unwrap();
//! assert_eq!(review["filter"], serde_json::json!(["==", ["get", "ZT"], "review"]));
//! ```

use serde_json::{json, Value};

use crate::db::tiles::{TileLayer, MAX_ZOOM};
use crate::http::tiles::tile_url;

/// Font stack for labels (fonts-noto-cjk; the browser falls back to its own).
pub const FONT: &str = "Noto Sans CJK SC";

/// Colour of features a submission awaiting review would change (`ZT` = `review`).
pub const REVIEW_COLOUR: &str = "#e8590c";

/// Parcel fill colours by the first two digits of the land-use code YT
/// (GB/T 21010 first-level classes).
const USE_COLOURS: [(&str, &str); 12] = [
    ("01", "#e6efc2"), // 耕地 farmland
    ("02", "#d4e8b0"), // 园地 garden
    ("03", "#b9d9a3"), // 林地 forest
    ("04", "#dcecc4"), // 草地 grassland
    ("05", "#f4b183"), // 商服用地 commercial
    ("06", "#c9b3d9"), // 工矿仓储用地 industrial
    ("07", "#f9e07f"), // 住宅用地 residential
    ("08", "#9fc5e8"), // 公共管理与公共服务用地 public
    ("09", "#d9a3a3"), // 特殊用地 special
    ("10", "#d0d0d0"), // 交通运输用地 transport
    ("11", "#a8d4f0"), // 水域及水利设施用地 water
    ("12", "#e8e2d6"), // 其他土地 other
];

/// The style; `origin` prefixes the tile URLs, `bounds` (lon/lat) and the
/// store CRS go into `metadata` for the console.
pub fn style(origin: &str, bounds: Option<[f64; 4]>, srid: i32, proj4: &str) -> Value {
    let source = |layer: TileLayer| {
        json!({
            "type": "vector",
            "tiles": [tile_url(origin, layer)],
            "minzoom": layer.min_zoom(),
            "maxzoom": MAX_ZOOM,
        })
    };
    let mut use_colour = vec![json!("match"), json!(["slice", ["coalesce", ["get", "YT"], ""], 0, 2])];
    for (code, colour) in USE_COLOURS {
        use_colour.push(json!(code));
        use_colour.push(json!(colour));
    }
    use_colour.push(json!("#eef1f4"));
    let min = |l: TileLayer| l.min_zoom();
    json!({
        "version": 8,
        "name": "不动产权籍调查 cadastral map",
        "metadata": {
            "cadastre:crs": {"srid": srid, "proj4": proj4},
            "cadastre:bounds": bounds,
        },
        "sources": {
            "subdistricts": source(TileLayer::SubDistricts),
            "parcels": source(TileLayer::Parcels),
            "buildings": source(TileLayer::Buildings),
            "points": source(TileLayer::BoundaryPoints),
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f7f6f2"}},
            {"id": "subdistricts-fill", "type": "fill", "source": "subdistricts", "source-layer": "subdistricts",
             "maxzoom": min(TileLayer::Parcels),
             "paint": {"fill-color": "#dfe7ee", "fill-opacity": 0.6}},
            {"id": "parcels-fill", "type": "fill", "source": "parcels", "source-layer": "parcels",
             "paint": {"fill-color": use_colour, "fill-opacity": 0.85}},
            {"id": "parcels-line", "type": "line", "source": "parcels", "source-layer": "parcels",
             "paint": {"line-color": "#44546a", "line-width": ["interpolate", ["linear"], ["zoom"], 14, 0.3, 18, 1.2]}},
            // Under review (ZT, migration 0061): a dashed orange outline over the use colour.
            {"id": "parcels-review", "type": "line", "source": "parcels", "source-layer": "parcels",
             "filter": ["==", ["get", "ZT"], "review"],
             "paint": {"line-color": REVIEW_COLOUR, "line-width": 2.5, "line-dasharray": [2, 1]}},
            {"id": "parcels-selected", "type": "line", "source": "parcels", "source-layer": "parcels",
             "filter": ["==", ["get", "ZDDM"], ""],
             "paint": {"line-color": "#d7191c", "line-width": 3}},
            {"id": "buildings-fill", "type": "fill", "source": "buildings", "source-layer": "buildings",
             "paint": {"fill-color": ["match", ["get", "ZT"], "review", REVIEW_COLOUR, "#8c8c8c"],
                       "fill-opacity": 0.55, "fill-outline-color": "#505050"}},
            {"id": "subdistricts-line", "type": "line", "source": "subdistricts", "source-layer": "subdistricts",
             "paint": {"line-color": "#2c6e9b", "line-width": 1.5, "line-dasharray": [4, 2]}},
            {"id": "points-circle", "type": "circle", "source": "points", "source-layer": "points",
             "paint": {"circle-radius": 3, "circle-color": "#ffffff", "circle-stroke-color": "#b3261e", "circle-stroke-width": 1.5}},
            {"id": "subdistricts-label", "type": "symbol", "source": "subdistricts", "source-layer": "subdistricts",
             "maxzoom": min(TileLayer::Buildings),
             "layout": {"text-field": ["coalesce", ["get", "DJZQMC"], ["get", "DJZQDM"]], "text-font": [FONT], "text-size": 13},
             "paint": {"text-color": "#1d3c57", "text-halo-color": "#ffffff", "text-halo-width": 1.5}},
            {"id": "parcels-label", "type": "symbol", "source": "parcels", "source-layer": "parcels",
             "minzoom": 17,
             "layout": {"text-field": ["slice", ["get", "ZDDM"], 12], "text-font": [FONT], "text-size": 11},
             "paint": {"text-color": "#1d2733", "text-halo-color": "#ffffff", "text-halo-width": 1}},
            {"id": "buildings-label", "type": "symbol", "source": "buildings", "source-layer": "buildings",
             "minzoom": 18,
             "layout": {"text-field": ["get", "JZWMC"], "text-font": [FONT], "text-size": 11},
             "paint": {"text-color": "#303030", "text-halo-color": "#ffffff", "text-halo-width": 1}},
            {"id": "points-label", "type": "symbol", "source": "points", "source-layer": "points",
             "layout": {"text-field": ["get", "JZDH"], "text-font": [FONT], "text-size": 10,
                        "text-offset": [0.6, -0.6], "text-anchor": "bottom-left"},
             "paint": {"text-color": "#b3261e", "text-halo-color": "#ffffff", "text-halo-width": 1}},
        ],
    })
}
