//! End-to-end tests of the `socle` binary.

mod backup;
mod cli;
mod config_file;
mod data;
mod dora;
mod dora_import;
mod policy;
mod rego_worker;
mod slo;
mod template_dir;
mod workload_errors;

mod browser;
mod conventions;
mod deploy_output;
mod first_hour;
mod otlp;
mod readme;
mod replicas;
