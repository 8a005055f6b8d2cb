//! End-to-end tests of the `socle` binary.

mod cli;
mod dora;
mod policy;
mod rego_worker;

mod browser;
