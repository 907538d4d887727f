//! One module per subcommand; each holds its `Args` and a `run` that calls library code.

pub mod bench;
pub mod cosim;
pub mod costs;
pub mod gen;
pub mod opts;
pub mod run;
pub mod synth;
pub mod train;
