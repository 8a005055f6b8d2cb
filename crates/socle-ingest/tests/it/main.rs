mod conformance;
mod locations;
mod targets;
