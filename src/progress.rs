//! How long jobs report how far they are: a [`Progress`] receives the total amount of
//! work, then each piece done. The library calls it; the command-line tool draws a bar
//! with it on a terminal. [`NoProgress`] ignores everything.

/// A listener for the progress of one job.
pub trait Progress: Sync {
    /// The job has `total` units of work (`unit`: what is counted, e.g. "spectra").
    fn start(&self, total: u64, unit: &str);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The job is over.
    fn finish(&self);
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64, _: &str) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
