//! Data products over HTTP: the organisation's data contracts and the processing register.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use socle_app::data::DataOverview;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Json};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/data/products", get(data_products))
}

/// Every data product (catalog entities of kind DataContract, from ODCS files: gold first) and
/// the processing register: every column classified as personal or restricted (pii, personal,
/// confidential, restricted, sensitive, secret), with its product, owner, purpose and servers.
#[utoipa::path(get, path = "/api/v1/data/products", tag = "data",
    responses((status = 200, description = "`{products: [{entity, title, owner, domain, tier, lifecycle, tables, columns, sensitiveColumns}], register: [{entity, owner, purpose, table, column, classification, servers}], register_truncated}`", body = Object),
              (status = 401, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn data_products(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<DataOverview>, ApiError> {
    Ok(Json(state.data_overview(&caller)?))
}
