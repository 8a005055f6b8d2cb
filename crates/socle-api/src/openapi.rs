//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use socle_app::ErrorCode;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
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

/// The error answers every operation shares, documented once: 400 for an operation that reads
/// parameters or a body (a value that cannot be read), 413 for one with a body, 401 for any that
/// looks at the caller (an invalid token) — and a description for every response: an error's
/// from the codes answered with its status ([`ErrorCode::summary`]), a success's from its status.
struct ErrorResponses;

/// Operations that never look at a token.
const ANONYMOUS_ONLY: [&str; 2] = ["healthz", "readyz"];

/// The webhooks: the only operations whose 401 may also be a signature's.
const WEBHOOKS: [&str; 2] = ["github", "gitlab"];

fn error_description(status: u16, operation: &str) -> Option<String> {
    let webhook = WEBHOOKS.contains(&operation);
    let codes: Vec<String> = ErrorCode::ALL
        .iter()
        .filter(|c| c.http_status() == status)
        .filter(|c| {
            webhook || !matches!(c, ErrorCode::BadSignature | ErrorCode::WebhookNotConfigured)
        })
        .map(|c| format!("`{}`: {}", c.name(), c.summary()))
        .collect();
    (!codes.is_empty()).then(|| codes.join("; "))
}

fn error_response(status: u16, operation: &str) -> Response {
    ResponseBuilder::new()
        .description(error_description(status, operation).unwrap_or_default())
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let id = op.operation_id.clone().unwrap_or_default();
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let mut shared = Vec::new();
                if has_params || op.request_body.is_some() {
                    shared.push(400);
                }
                if op.request_body.is_some() {
                    shared.push(413);
                }
                if !ANONYMOUS_ONLY.contains(&id.as_str()) {
                    shared.push(401);
                }
                let responses = &mut op.responses.responses;
                for status in shared {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::T(error_response(status, &id)));
                }
                for (status, response) in responses.iter_mut() {
                    if let RefOr::T(r) = response
                        && r.description.is_empty()
                    {
                        let code: u16 = status.parse().unwrap_or_default();
                        r.description = error_description(code, &id).unwrap_or_else(|| {
                            axum::http::StatusCode::from_u16(code)
                                .ok()
                                .and_then(|s| s.canonical_reason())
                                .unwrap_or("the answer")
                                .to_owned()
                        });
                    }
                }
            }
        }
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
        routes::refresh_location, routes::refresh_all, crate::org_routes::sync_org,
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
        crate::slo_routes::push_events,
        crate::slo_routes::entity_slos,
        crate::slo_routes::overview,
        crate::data_routes::data_products, crate::data_routes::request_access, crate::data_routes::list_access,
        crate::data_routes::approve_access, crate::data_routes::deny_access, crate::data_routes::revoke_access,
        crate::data_routes::quality_history, crate::data_routes::record_quality, crate::data_routes::data_lineage,
        crate::data_routes::list_data_runs, crate::data_routes::one_data_run, crate::data_routes::check_access,
        crate::scorecard_routes::list_scorecards, crate::scorecard_routes::get_scorecard,
        crate::scorecard_routes::scorecard_history, crate::scorecard_routes::list_campaigns, crate::scorecard_routes::get_campaign, crate::scorecard_routes::get_campaign_team, crate::scorecard_routes::campaign_promotion, crate::scorecard_routes::entity_scorecards, crate::scorecard_routes::entity_findings,
        crate::scorecard_routes::import_findings,
        crate::survey_routes::list_surveys, crate::survey_routes::get_survey,
        crate::survey_routes::answer_survey, crate::survey_routes::survey_results,
        crate::feedback_routes::send_feedback, crate::feedback_routes::list_feedback,
        crate::feedback_routes::triage_feedback,
        crate::adoption_routes::adoption_report, crate::adoption_routes::team_adoption,
    ),
    modifiers(&Bearer, &ErrorResponses),
    tags((name = "catalog"), (name = "search"), (name = "locations"), (name = "auth"), (name = "deployments"), (name = "guardrails"), (name = "dora"), (name = "templates"), (name = "notifications"), (name = "slo"), (name = "data"), (name = "scorecards"), (name = "surveys"), (name = "feedback"), (name = "adoption"), (name = "operations"))
)]
pub struct ApiDoc;

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
