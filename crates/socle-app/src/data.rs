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

/// What the data catalog is narrowed to (every filter given must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataFilter {
    pub domain: Option<String>,
    pub tier: Option<String>,
    /// The owner group's ref.
    pub owner: Option<String>,
    /// A personal or restricted classification one of its columns carries.
    pub classification: Option<String>,
}

/// One value of a facet and how many products it would leave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FacetValue {
    pub value: String,
    pub count: usize,
}

/// How many products each value of a facet would leave (the other filters applied), by value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DataFacets {
    pub domain: Vec<FacetValue>,
    pub tier: Vec<FacetValue>,
    pub owner: Vec<FacetValue>,
    pub classification: Vec<FacetValue>,
}

/// The data catalog narrowed by a filter, with its facet counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataCatalog {
    #[serde(flatten)]
    pub overview: DataOverview,
    pub facets: DataFacets,
}

impl App {
    /// The data products and register rows `filter` keeps, with the facets beside them.
    pub fn data_catalog(
        &self,
        actor: &Actor,
        filter: &DataFilter,
    ) -> Result<DataCatalog, AppError> {
        let (overview, facets) = self.data_overview(actor)?.narrowed(filter);
        Ok(DataCatalog { overview, facets })
    }
}

/// Which facet a count is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Facet {
    Domain,
    Tier,
    Owner,
    Classification,
}

impl DataOverview {
    /// The products (and their register rows) `f` keeps, and the facet counts beside them.
    pub fn narrowed(&self, f: &DataFilter) -> (DataOverview, DataFacets) {
        let mut classes: std::collections::HashMap<&str, std::collections::BTreeSet<String>> =
            std::collections::HashMap::new();
        for r in &self.register {
            classes
                .entry(r.entity.as_str())
                .or_default()
                .insert(r.classification.to_ascii_lowercase());
        }
        let none = std::collections::BTreeSet::new();
        let values = |p: &DataProduct, facet: Facet| -> Vec<String> {
            let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
            match facet {
                Facet::Domain => one(&p.domain),
                Facet::Tier => one(&p.tier),
                Facet::Owner => one(&p.owner),
                Facet::Classification => classes
                    .get(p.entity.as_str())
                    .unwrap_or(&none)
                    .iter()
                    .cloned()
                    .collect(),
            }
        };
        let wanted = |facet: Facet| match facet {
            Facet::Domain => &f.domain,
            Facet::Tier => &f.tier,
            Facet::Owner => &f.owner,
            Facet::Classification => &f.classification,
        };
        let all = [
            Facet::Domain,
            Facet::Tier,
            Facet::Owner,
            Facet::Classification,
        ];
        let keeps = |p: &DataProduct, skip: Option<Facet>| {
            all.iter()
                .filter(|x| Some(**x) != skip)
                .all(|x| match wanted(*x) {
                    None => true,
                    Some(w) => values(p, *x).iter().any(|v| v.eq_ignore_ascii_case(w)),
                })
        };
        let count = |facet: Facet| {
            let mut n: std::collections::BTreeMap<String, usize> = Default::default();
            for p in self.products.iter().filter(|p| keeps(p, Some(facet))) {
                for v in values(p, facet) {
                    *n.entry(v).or_default() += 1;
                }
            }
            n.into_iter()
                .map(|(value, count)| FacetValue { value, count })
                .collect()
        };
        let facets = DataFacets {
            domain: count(Facet::Domain),
            tier: count(Facet::Tier),
            owner: count(Facet::Owner),
            classification: count(Facet::Classification),
        };
        let products: Vec<DataProduct> = self
            .products
            .iter()
            .filter(|p| keeps(p, None))
            .cloned()
            .collect();
        let kept: std::collections::HashSet<&str> =
            products.iter().map(|p| p.entity.as_str()).collect();
        let register = self
            .register
            .iter()
            .filter(|r| kept.contains(r.entity.as_str()))
            .filter(|r| {
                f.classification
                    .as_ref()
                    .is_none_or(|c| r.classification.eq_ignore_ascii_case(c))
            })
            .cloned()
            .collect();
        (
            DataOverview {
                products,
                register,
                register_truncated: self.register_truncated,
            },
            facets,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(entity: &str, domain: &str, tier: &str, owner: &str) -> DataProduct {
        DataProduct {
            entity: entity.into(),
            title: entity.into(),
            owner: Some(owner.into()),
            domain: Some(domain.into()),
            tier: Some(tier.into()),
            lifecycle: None,
            tables: 1,
            columns: 2,
            sensitive_columns: 1,
        }
    }

    fn column(entity: &str, column: &str, classification: &str) -> RegisterEntry {
        RegisterEntry {
            entity: entity.into(),
            owner: None,
            purpose: None,
            table: "t".into(),
            column: column.into(),
            classification: classification.into(),
            servers: Vec::new(),
        }
    }

    fn overview() -> DataOverview {
        DataOverview {
            products: vec![
                product("orders", "sales", "gold", "team-a"),
                product("carts", "sales", "silver", "team-b"),
                product("stock", "ops", "gold", "team-b"),
            ],
            register: vec![
                column("orders", "email", "pii"),
                column("orders", "iban", "confidential"),
                column("carts", "email", "PII"),
            ],
            register_truncated: false,
        }
    }

    fn pairs(f: &[FacetValue]) -> Vec<(&str, usize)> {
        f.iter().map(|v| (v.value.as_str(), v.count)).collect()
    }

    fn names(o: &DataOverview) -> Vec<&str> {
        o.products.iter().map(|p| p.entity.as_str()).collect()
    }

    #[test]
    fn no_filter_keeps_everything_and_counts_every_value() {
        let (o, f) = overview().narrowed(&DataFilter::default());
        assert_eq!(names(&o), ["orders", "carts", "stock"]);
        assert_eq!(pairs(&f.domain), [("ops", 1), ("sales", 2)]);
        assert_eq!(pairs(&f.tier), [("gold", 2), ("silver", 1)]);
        assert_eq!(pairs(&f.classification), [("confidential", 1), ("pii", 2)]);
    }

    #[test]
    fn filters_combine_and_each_facet_counts_with_the_others_applied() {
        let filter = DataFilter {
            domain: Some("sales".into()),
            tier: Some("gold".into()),
            ..Default::default()
        };
        let (o, f) = overview().narrowed(&filter);
        assert_eq!(names(&o), ["orders"]);
        // Tiers within sales; domains among gold products.
        assert_eq!(pairs(&f.tier), [("gold", 1), ("silver", 1)]);
        assert_eq!(pairs(&f.domain), [("ops", 1), ("sales", 1)]);
        assert_eq!(o.register.len(), 2, "the kept product's columns only");
    }

    #[test]
    fn a_classification_keeps_its_products_and_only_its_register_rows() {
        let filter = DataFilter {
            classification: Some("pii".into()),
            ..Default::default()
        };
        let (o, _) = overview().narrowed(&filter);
        assert_eq!(names(&o), ["orders", "carts"]);
        let cols: Vec<(&str, &str)> = o
            .register
            .iter()
            .map(|r| (r.entity.as_str(), r.column.as_str()))
            .collect();
        assert_eq!(cols, [("orders", "email"), ("carts", "email")]);
    }
}
