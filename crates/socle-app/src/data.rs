//! Data products: the organisation's data contracts (catalog entities of kind `DataContract`,
//! from ODCS files) with their tier, domain and owner, and the processing register RGPD asks
//! for — every column classified as personal or restricted data, with its product, owner, the
//! contract's stated purpose and where the data lives.

use serde::Serialize;
use serde_json::Value;

use crate::App;
use crate::actor::Actor;
use crate::error::AppError;

/// Most data products listed.
pub const MAX_PRODUCTS: usize = 10_000;
/// Most register rows.
pub const MAX_REGISTER: usize = 50_000;

/// One data product, as its contract describes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataProduct {
    pub entity: String,
    pub title: String,
    pub owner: Option<String>,
    pub domain: Option<String>,
    pub tier: Option<String>,
    pub lifecycle: Option<String>,
    pub tables: usize,
    pub columns: usize,
    /// Columns classified as personal or restricted.
    pub sensitive_columns: usize,
}

/// One personal or restricted column.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterEntry {
    pub entity: String,
    pub owner: Option<String>,
    /// The contract's `description.purpose`.
    pub purpose: Option<String>,
    pub table: String,
    pub column: String,
    pub classification: String,
    /// `server (type)` of each server the contract lists.
    pub servers: Vec<String>,
}

/// Every data product and the processing register.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataOverview {
    pub products: Vec<DataProduct>,
    pub register: Vec<RegisterEntry>,
    /// Whether the register was cut at [`MAX_REGISTER`] rows.
    pub register_truncated: bool,
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn list<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

impl App {
    /// Every data product (sorted by tier, gold first, then name) and every personal or
    /// restricted column, for anyone who may read the catalog.
    pub fn data_overview(&self, actor: &Actor) -> Result<DataOverview, AppError> {
        self.can_read(actor)?;
        let snap = self.snapshot();
        let mut overview = DataOverview {
            products: Vec::new(),
            register: Vec::new(),
            register_truncated: false,
        };
        for view in snap
            .entities
            .iter()
            .filter(|e| e.kind() == "datacontract")
            .take(MAX_PRODUCTS)
        {
            let Ok(body) = serde_json::from_str::<Value>(&view.body) else {
                continue;
            };
            let owner = view.owner.map(|o| snap.name(o).to_owned());
            let purpose = text(&body, "/metadata/description");
            let servers: Vec<String> = list(&body, "/spec/servers")
                .iter()
                .map(|s| {
                    format!(
                        "{} ({})",
                        text(s, "/server").unwrap_or_default(),
                        text(s, "/type").unwrap_or_default()
                    )
                })
                .collect();
            let tables = list(&body, "/spec/schema");
            let mut product = DataProduct {
                entity: view.entity_ref.to_string(),
                title: text(&body, "/metadata/title")
                    .or_else(|| text(&body, "/metadata/name"))
                    .unwrap_or_default(),
                owner: owner.clone(),
                domain: text(&body, "/spec/domain"),
                tier: text(&body, "/spec/tier"),
                lifecycle: view.lifecycle.as_deref().map(str::to_owned),
                tables: tables.len(),
                columns: 0,
                sensitive_columns: 0,
            };
            for table in tables {
                let table_name = text(table, "/name").unwrap_or_default();
                for column in list(table, "/properties") {
                    product.columns += 1;
                    let Some(c) = text(column, "/classification") else {
                        continue;
                    };
                    if !socle_data::is_sensitive(&c) {
                        continue;
                    }
                    product.sensitive_columns += 1;
                    if overview.register.len() >= MAX_REGISTER {
                        overview.register_truncated = true;
                        continue;
                    }
                    overview.register.push(RegisterEntry {
                        entity: product.entity.clone(),
                        owner: owner.clone(),
                        purpose: purpose.clone(),
                        table: table_name.clone(),
                        column: text(column, "/name").unwrap_or_default(),
                        classification: c,
                        servers: servers.clone(),
                    });
                }
            }
            overview.products.push(product);
        }
        let rank = |t: &Option<String>| match t.as_deref() {
            Some("gold") => 0,
            Some("silver") => 1,
            Some("bronze") => 2,
            _ => 3,
        };
        overview
            .products
            .sort_by(|a, b| (rank(&a.tier), &a.entity).cmp(&(rank(&b.tier), &b.entity)));
        Ok(overview)
    }
}
