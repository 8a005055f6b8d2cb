//! End-to-end tests of the `socle` binary.

mod cli;
mod rego_worker;

mod browser;
