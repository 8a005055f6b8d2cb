mod chart;
mod form;
mod graph;
mod markdown;
mod openapi;
