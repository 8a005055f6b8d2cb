//! Data contracts: the Open Data Contract Standard (ODCS v3.0.x and v3.1.0, Bitol), read with
//! positions, validated against the official JSON Schema its `apiVersion` names, and turned into
//! the catalog entity of the data product it describes (`kind: DataContract`); data pipelines
//! of SQL models (`pipeline`: rendering, dependency order, lineage). Pure: no IO.

pub mod contract;
pub mod entity;
pub mod pipeline;
pub mod quality;

pub use contract::{Contract, ContractError, OdcsVersion, load};
pub use entity::{API_VERSION, KIND, SENSITIVE, entity_name, entity_ref, is_sensitive, to_entity};
