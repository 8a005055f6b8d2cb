//! End-to-end tests of the `socle` binary.

mod cli;
mod dora;
mod rego_worker;

mod browser;
mod first_hour;
