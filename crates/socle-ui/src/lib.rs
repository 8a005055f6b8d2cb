//! The portal's pure views: functions from loaded data to HTML (maud markup, escaped by
//! construction). No IO, no HTTP, no clock: the portal crate loads, this crate draws.

pub mod chart;
pub mod form;
pub mod graph;
pub mod lineage;
pub mod markdown;
pub mod openapi;
