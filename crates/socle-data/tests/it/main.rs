//! Data contracts: Bitol's ODCS examples validated as check-jsonschema validates them (per file
//! and per error path), errors located, and the catalog entity of a contract.

mod contracts;
mod pipeline;
mod quality;
