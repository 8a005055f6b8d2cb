//! Integration tests for `socle-search`.

mod apply;
mod common;
mod facets;
mod filters;
mod paging;
mod text;
