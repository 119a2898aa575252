//! The OpenAPI document, generated from the handlers' annotations so it cannot
//! drift from the routes (a test checks that every documented path is routed).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::{auth, buildings, parcels, submissions, summary, tiles, units};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "cadastre tile-server", description = "Internal-zone cadastral store API (不动产权籍调查). \
        Unit-table endpoints (building table, units, search, changes) carry no coordinates."),
    paths(
        crate::http::health, auth::login, auth::logout, auth::change_password, spec,
        parcels::list, parcels::get_one, parcels::put, parcels::history,
        buildings::list, buildings::get_one, buildings::put, buildings::table,
        units::unit, units::get_household, units::put_household, units::search, units::changes,
        submissions::create, submissions::list, submissions::decide, submissions::get_one,
        submissions::create_version, submissions::report, submissions::report_html, submissions::diff,
        summary::summary, tiles::tile, tiles::api_tile, tiles::tilejson, tiles::style, tiles::features,
    ),
    components(schemas(tiles::LayerName)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn spec() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
