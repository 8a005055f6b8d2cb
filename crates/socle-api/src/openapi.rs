//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Socle API", description = "Socle, an Internal Developer Platform: software catalog API"),
    paths(
        routes::healthz, routes::readyz, routes::metrics, routes::whoami,
        routes::list_entities, routes::get_entity, routes::get_relations, routes::dangling,
        routes::search, routes::facets,
        routes::list_locations, routes::get_location, routes::create_location, routes::delete_location,
        routes::refresh_location, routes::refresh_all,
        routes::list_tokens, routes::create_token, routes::revoke_token, routes::audit,
        crate::deploy_routes::create_deployment, crate::deploy_routes::rollback, crate::deploy_routes::promote,
        crate::deploy_routes::list_deployments, crate::deploy_routes::list_resources, crate::deploy_routes::secret_store,
        crate::policy_routes::eval, crate::policy_routes::test, crate::policy_routes::create_waiver, crate::policy_routes::list_waivers,
        crate::policy_routes::revoke_waiver, crate::policy_routes::results, crate::policy_routes::eval_entity,
        crate::dora_routes::import_events, crate::dora_routes::incident, crate::dora_routes::incidents, crate::dora_routes::github,
        crate::dora_routes::gitlab, crate::dora_routes::report, crate::dora_routes::teams,
        crate::dora_scopes_routes::scopes,
        crate::template_routes::list_templates, crate::template_routes::get_template, crate::template_routes::create_run,
        crate::template_routes::list_runs, crate::template_routes::get_run,
        crate::notification_routes::list_notifications,
    ),
    modifiers(&Bearer),
    tags((name = "catalog"), (name = "search"), (name = "locations"), (name = "auth"), (name = "deployments"), (name = "guardrails"), (name = "dora"), (name = "templates"), (name = "notifications"), (name = "operations"))
)]
pub struct ApiDoc;

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
