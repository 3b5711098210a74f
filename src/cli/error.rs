//! The command-line tool's one error type.

use thiserror::Error;

/// What can stop a subcommand.
#[derive(Debug, Error)]
pub enum CliError {
    /// A command-line argument that cannot be used.
    #[error("{flag} {value}: expected {expected}")]
    Arg {
        /// The flag (with its dashes).
        flag: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// The library refused or failed.
    #[error(transparent)]
    Lib(#[from] fxgrid::Error),
    /// The subcommand reads or writes HDF5, and this build has no HDF5.
    #[cfg_attr(feature = "hdf5", allow(dead_code))]
    #[error("`fxgrid {command}` reads or writes HDF5 files, and this fxgrid was built without the `hdf5` feature")]
    NoHdf5 {
        /// The subcommand.
        command: &'static str,
    },
    /// The command needs Measurement Sets, and this build has no `ms` feature.
    #[cfg_attr(feature = "ms", allow(dead_code))]
    #[error("Measurement Sets need fxgrid built with the `ms` feature (cargo build --release --features ms)")]
    NoMs,
    /// An output path that cannot be used (see `outputs`).
    #[error("{flag} {path}: expected {reason}")]
    Output {
        /// The flag (with its dashes) or argument name.
        flag: &'static str,
        /// The path given.
        path: String,
        /// What was expected instead.
        reason: String,
    },
    /// An input path that cannot be read.
    #[error("{flag} {path}: expected {reason}")]
    Input {
        /// The flag (with its dashes) or argument name.
        flag: &'static str,
        /// The path given.
        path: String,
        /// What was expected instead.
        reason: String,
    },
    /// Standard output cannot be written (a closed pipe, a full disk).
    #[error("writing to standard output")]
    Stdout(#[source] std::io::Error),
    /// The parameters need more memory or disk than there is.
    #[error("{what} needs {need}, and {have}: {hint}")]
    TooBig {
        /// What was asked for.
        what: String,
        /// How much it needs.
        need: String,
        /// What there is.
        have: String,
        /// Which option to change.
        hint: String,
    },
    /// Writing the report.
    #[error("writing the report {path}")]
    Report {
        /// The report's path.
        path: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The thread pool could not be made.
    #[error("starting {threads} worker threads")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// Why.
        source: rayon::ThreadPoolBuildError,
    },
}

impl CliError {
    /// An argument error.
    pub fn arg(
        flag: &'static str,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        CliError::Arg {
            flag,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

/// Library errors convert to [`CliError::Lib`] through [`fxgrid::Error`].
macro_rules! from_lib {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError::Lib(e.into())
            }
        }
    )*};
}
from_lib!(
    fxgrid::telescope::TelescopeError,
    fxgrid::sky::SkyError,
    fxgrid::channelise::ChannelError,
    fxgrid::grid::GridError,
    fxgrid::deconvolve::DeconvolveError,
    fxgrid::io::IoError,
    fxgrid::fx::FxError
);
#[cfg(feature = "hdf5")]
from_lib!(fxgrid::imaging::FileImagingError);

/// The error and its causes, one per line (a cause already quoted by the line above it is
/// not repeated).
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut out = format!("error: {e}");
    let mut last = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !last.contains(&text) {
            out += &format!("\n  caused by: {text}");
        }
        last = text;
        cause = c.source();
    }
    out
}
