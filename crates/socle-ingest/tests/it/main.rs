mod conformance;
mod locations;
