//! Renderers against score-compose's own expected outputs, and determinism.

mod compose_conformance;
mod golden;
mod kubernetes;
