mod budget;
mod conformance;
mod fuzz;
mod golden_paths;
mod outputs;
mod specs;
mod validation;
