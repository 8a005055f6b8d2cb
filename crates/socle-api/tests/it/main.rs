//! API tests: the real server on a loopback port, over a real store (SQLite always; PostgreSQL
//! too when `SOCLE_TEST_DATABASE_URL` is set), driven over HTTP.

mod adoption;
mod bad_input;
mod campaigns;
mod concurrency;
mod contract;
mod deployments;
mod dora;
mod dora_incidents;
mod dora_scopes;
mod feedback;
mod findings;
mod git_host_requests;
mod git_hosts;
mod harness;
mod http_api;
mod matrix;
mod newer_kinds;
mod notifications;
mod own_slo;
mod slo;
mod surveys;
mod templates;
mod templates_git;
mod trust;
