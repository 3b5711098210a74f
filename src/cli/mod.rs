//! The `fxgrid` command-line tool. Each subcommand has its own file: its clap arguments,
//! their validation into library parameters (every error names the flag), and the run,
//! which only calls the library and reports. Errors print as one line per cause and exit
//! non-zero; long jobs draw a progress bar on a terminal.

// Without HDF5 only `info` runs: the shared helpers of the other subcommands are unused.
#![cfg_attr(not(feature = "hdf5"), allow(dead_code))]

mod args;
mod error;
mod info;
mod progress;
mod report;
// Subcommands that read or write HDF5 (gated here, once).
#[cfg(feature = "hdf5")]
mod channelise;
#[cfg(feature = "hdf5")]
mod convert;
#[cfg(feature = "hdf5")]
mod correlate;
#[cfg(feature = "hdf5")]
mod image;
#[cfg(feature = "hdf5")]
mod predict;
#[cfg(feature = "hdf5")]
mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;

#[derive(Parser, Debug)]
#[command(
    name = "fxgrid",
    version,
    about = "SKA-style FX correlation and imaging"
)]
struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// More output (timings of each stage).
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// No output except errors (no progress bars either).
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands. Their argument types exist in every build so that `--help` is the
/// same; those of the HDF5 subcommands are defined in [`hdf5_args`].
#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate data.
    #[command(subcommand)]
    Simulate(Box<hdf5_args::Simulate>),
    /// Print a human-readable summary of an fxgrid, UVH5 or FITS file.
    Info(info::InfoArgs),
    /// Channelise an fxgrid voltage file with a polyphase filterbank, streaming.
    Channelise(hdf5_args::ChanneliseArgs),
    /// Correlate an fxgrid spectra file into visibilities (UVH5), streaming the spectra.
    Correlate(hdf5_args::CorrelateArgs),
    /// Make a dirty image (and optionally the PSF) of the Stokes I data of a UVH5 file.
    Image(Box<hdf5_args::ImageArgs>),
    /// Predict visibilities of a FITS model image on the samples of a UVH5 file.
    Predict(hdf5_args::PredictArgs),
    /// Convert between UVH5 and a Measurement Set, either way (needs the ms feature).
    Convert(hdf5_args::ConvertArgs),
}

impl Command {
    #[cfg_attr(feature = "hdf5", allow(dead_code))]
    fn name(&self) -> &'static str {
        match self {
            Command::Simulate(_) => "simulate",
            Command::Info(_) => "info",
            Command::Channelise(_) => "channelise",
            Command::Correlate(_) => "correlate",
            Command::Image(_) => "image",
            Command::Predict(_) => "predict",
            Command::Convert(_) => "convert",
        }
    }
}

/// The argument types of the HDF5 subcommands: their own modules' with the feature, empty
/// stand-ins without it (any use is refused before it is parsed further).
#[cfg(feature = "hdf5")]
mod hdf5_args {
    pub use super::channelise::ChanneliseArgs;
    pub use super::convert::ConvertArgs;
    pub use super::correlate::CorrelateArgs;
    pub use super::image::ImageArgs;
    pub use super::predict::PredictArgs;
    pub use super::simulate::Simulate;
}

#[cfg(not(feature = "hdf5"))]
mod hdf5_args {
    /// Stand-in: this build has no HDF5.
    #[derive(clap::Args, Debug)]
    pub struct Unavailable {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        _rest: Vec<String>,
    }
    pub type ChanneliseArgs = Unavailable;
    pub type ConvertArgs = Unavailable;
    pub type CorrelateArgs = Unavailable;
    pub type ImageArgs = Unavailable;
    pub type PredictArgs = Unavailable;
    /// Stand-in: this build has no HDF5.
    #[derive(clap::Subcommand, Debug)]
    pub enum Simulate {
        /// Needs the hdf5 feature.
        Vis(Unavailable),
        /// Needs the hdf5 feature.
        Voltages(Unavailable),
    }
}

/// What every subcommand is given besides its arguments.
pub struct Context {
    /// `-q`: print nothing but errors.
    pub quiet: bool,
    /// `-v`: print stage timings.
    pub verbose: bool,
    /// The command line, for the history of files written.
    pub command_line: String,
}

impl Context {
    /// A progress bar for a job (drawn only on a terminal and without `-q`).
    pub fn progress(&self, label: &str) -> progress::Bar {
        progress::Bar::new(!self.quiet, label)
    }

    /// The history line recorded in files written.
    pub fn history(&self) -> String {
        format!("Command: {}", self.command_line)
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    if let Some(threads) = cli.threads {
        if threads == 0 {
            return Err(CliError::arg("--threads", 0, "at least 1"));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|source| CliError::Threads { threads, source })?;
    }
    let ctx = Context {
        quiet: cli.quiet,
        verbose: cli.verbose,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    match cli.command {
        Command::Info(a) => info::run(&a, &ctx),
        #[cfg(feature = "hdf5")]
        Command::Simulate(s) => match *s {
            simulate::Simulate::Vis(a) => simulate::run_vis(&a, &ctx),
            simulate::Simulate::Voltages(a) => simulate::run_voltages(&a, &ctx),
        },
        #[cfg(feature = "hdf5")]
        Command::Channelise(a) => channelise::run(&a, &ctx),
        #[cfg(feature = "hdf5")]
        Command::Correlate(a) => correlate::run(&a, &ctx),
        #[cfg(feature = "hdf5")]
        Command::Image(a) => image::run(&a, &ctx),
        #[cfg(feature = "hdf5")]
        Command::Predict(a) => predict::run(&a, &ctx),
        #[cfg(feature = "hdf5")]
        Command::Convert(a) => convert::run(&a, &ctx),
        #[cfg(not(feature = "hdf5"))]
        other => Err(CliError::NoHdf5 {
            command: other.name(),
        }),
    }
}

/// Parses the command line, runs the subcommand, prints any error with its causes.
pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error::describe(&e));
            ExitCode::FAILURE
        }
    }
}
