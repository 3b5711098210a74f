//! fxgrid's integration tests (one crate, one module per topic).

mod astrometry;
mod common;
mod predict;
