//! The application services over a real store (SQLite in a temporary directory), without HTTP.

mod actions;
mod adoption;
mod campaigns;
mod catalog_scorecards;
mod data_access;
mod data_quality;
mod data_run;
mod deploy;
mod dora_live;
mod https;
mod org_sync;
mod read_model_delta;
mod readiness;
mod scorecards;
mod slo_budget;
mod slo_gate;
mod support;
mod surveys;
mod templates;
