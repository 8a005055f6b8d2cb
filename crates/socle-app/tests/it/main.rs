//! The application services over a real store (SQLite in a temporary directory), without HTTP.

mod deploy;
mod templates;
