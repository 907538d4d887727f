//! golden-model: the reference of LLS training, in fixed point and in float.
//!
//! **[`spec`] is the specification of the hardware.** The RTL that rtl-gen emits must match
//! it bit for bit; every rounding, saturation, shift and table the RTL uses is defined there
//! once:
//! - [`spec::numeric`]: Q-formats, bit growth, the narrowing policies and the LFSR;
//! - [`spec::basis`]: the periodic basis table (the ROM contents);
//! - [`spec::softmax`]: the exp table and the fixed-point softmax error;
//! - [`spec::fixed`]: one training step of the whole net, batch 1, bit exact (including the
//!   `bp` rule's fixed-point backprop, the baseline the hardware is compared with);
//! - [`spec::kernels`]: the inner loops of [`spec::fixed`], one result on every instruction set;
//! - [`spec::lanes`]: which MAC lane, and which word of it, each input of a row goes to;
//! - [`spec::trace`]: the raw bits of a step, which co-simulation compares.
//!
//! **[`baseline`] is for comparison only;** nothing in it constrains the RTL:
//! - [`baseline::float`]: the equations of [`spec::fixed`] in f32, mini-batch capable, the
//!   yardstick of the quantisation;
//! - [`baseline::recipe`]: the official PyTorch recipe in f32 (BatchNorm, L2-normalised local
//!   loss, AdamW-ScheduleFree), for figures comparable with the paper's.
//!
//! **Support**, used by both and by the other crates:
//! - [`config`]: the TOML config that training and rtl-gen share, and its validation;
//! - [`network`]: the convolutional blocks' shapes and checks;
//! - [`data`]: the MNIST, Fashion-MNIST and digits loaders;
//! - [`train`]: the training loop and its report, for either arithmetic;
//! - [`checkpoint`]: the training state of a [`spec::fixed::FixedNet`] in a checksummed file;
//! - [`cost`]: MAC and memory counts per training sample, counted as the models run and
//!   from layer shapes alone (the paper's VGG8 comparison);
//! - [`memory`]: the memory a training step of a config needs, per rule and arithmetic;
//! - [`rng`]: the seeded generator behind initial weights and shuffling;
//! - [`error`]: the data loaders' errors (config errors live in [`config`]).
//!
//! See `docs/fixed-point-spec.md` for why each choice in [`spec`] was made.
#![deny(unsafe_code)]

pub mod baseline;
pub mod checkpoint;
pub mod config;
pub mod cost;
pub mod data;
pub mod error;
pub mod memory;
pub mod network;
pub mod rng;
pub mod spec;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
pub mod train;

pub use config::{Config, ConfigError};
