//! Images and plots for people: PNG rendering.

pub mod fft;
pub mod plot;
