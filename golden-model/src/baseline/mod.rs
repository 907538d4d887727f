//! Float models, for comparison only: they measure what quantisation and the hardware's
//! simplifications cost, and nothing in them constrains the RTL.

pub mod conv;
pub mod float;
pub mod recipe;
