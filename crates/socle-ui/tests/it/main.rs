mod chart;
mod form;
mod graph;
mod lineage;
mod markdown;
mod openapi;
