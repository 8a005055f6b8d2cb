//! Adoption and impact on hand-made fixtures: every expected figure is worked out by hand in
//! the comments beside it.

mod adoption;
mod impact;
