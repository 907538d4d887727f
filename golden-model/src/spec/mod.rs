//! The specification of the hardware: the fixed-point model that the RTL must match bit for
//! bit, and everything it is built from.
//!
//! A change here changes what the hardware must compute: rtl-gen reads its formats, widths,
//! LFSR and tables from these modules, and co-simulation compares the RTL with
//! [`fixed::FixedNet`] through [`trace`].

pub mod basis;
pub mod fixed;
pub mod kernels;
pub mod lanes;
pub mod numeric;
pub mod rails;
pub mod softmax;
pub mod trace;
