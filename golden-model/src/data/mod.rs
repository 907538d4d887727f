//! data loaders
