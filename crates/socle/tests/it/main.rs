//! End-to-end tests of the `socle` binary.

mod cli;

mod browser;
