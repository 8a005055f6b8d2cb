//! Score workloads: the public corpus parses; bad input gets located, actionable errors.

mod bad_input;
mod conformance;
mod fuzz;
