//! The organisation from the directory: run the org sync now (`POST /api/v1/org/sync`).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Json};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/org/sync", post(sync_org))
}

/// What the sync did, per directory provider.
#[derive(Serialize, ToSchema)]
pub struct OrgSyncOut {
    /// `[{provider, location, users, groups, outcome: {status, added, updated, removed, …}}]`
    #[schema(value_type = Vec<Object>)]
    providers: Vec<socle_app::org_sync::SyncReport>,
}

/// Reads users and groups from every configured directory now and applies them to the catalog
/// (admin; audited as `org.sync`). A directory that cannot be read leaves the catalog as it was
/// and reports its outcome as failed. 404 when the server has no `--org-sync` configuration.
#[utoipa::path(post, path = "/api/v1/org/sync", tag = "locations",
    responses((status = 200, description = "each provider's report", body = OrgSyncOut),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn sync_org(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<OrgSyncOut>, ApiError> {
    let providers = state.sync_org_now(&caller).await?;
    Ok(Json(OrgSyncOut { providers }))
}
