//! Images and plots for people: PNG rendering.

pub mod plot;
