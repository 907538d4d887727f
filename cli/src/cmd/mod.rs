//! One module per subcommand; each holds its `Args` and a `run` that calls library code.

pub mod bench;
pub mod board;
pub mod cosim;
pub mod costs;
pub mod flash;
pub mod gen;
pub mod opts;
pub mod presets;
pub mod run;
pub mod sweep;
pub mod synth;
pub mod train;
pub mod weights;
