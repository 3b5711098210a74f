//! The `fxgrid` command-line tool. Each subcommand has its own file: its clap arguments,
//! their validation into library parameters (every error names the flag), and the run,
//! which only calls the library and reports. Errors print as one line per cause and exit
//! non-zero; long jobs draw a progress bar on a terminal.

// Without HDF5 only `info` runs: the shared helpers of the other subcommands are unused.
#![cfg_attr(not(feature = "hdf5"), allow(dead_code))]

mod args;
mod budget;
mod error;
mod info;
mod outputs;
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

use std::io::Write;
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

    /// Prints `text` and a newline on standard output unless `-q`; a closed pipe or a full
    /// disk is an error (the command then fails, and its outputs are not committed).
    pub fn say(&self, text: &str) -> Result<(), CliError> {
        if self.quiet {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(CliError::Stdout)
    }
}

/// More worker threads than this many per core only cost memory and start-up time.
const THREADS_PER_CORE: usize = 4;

/// `--threads`, bounded by [`THREADS_PER_CORE`] per core (with a warning).
fn thread_count(asked: usize) -> Result<usize, CliError> {
    if asked == 0 {
        return Err(CliError::arg("--threads", 0, "at least 1"));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = (THREADS_PER_CORE * cores).max(8);
    if asked > limit {
        eprintln!(
            "warning: --threads {asked} is more than {limit} ({THREADS_PER_CORE} per core on {cores} cores): using {limit}"
        );
        return Ok(limit);
    }
    Ok(asked)
}

/// On SIGINT, SIGTERM or SIGHUP: remove every file being written and exit at once with
/// 128 + 2 (as a shell reports an interrupted command).
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        let n = fxgrid::io::remove_all_pending();
        let msg: &[u8] = if n > 0 {
            b"fxgrid: interrupted; removed the files being written\n"
        } else {
            b"fxgrid: interrupted\n"
        };
        // SAFETY: write(2) and _exit(2) are async-signal-safe, and this runs on ctrlc's
        // own thread, not in the signal handler. _exit skips the atexit handlers, which
        // would close HDF5 files the main thread may be writing.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(130);
        }
    });
}

fn run(cli: Cli) -> Result<(), CliError> {
    if let Some(threads) = cli.threads {
        let threads = thread_count(threads)?;
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|source| CliError::Threads { threads, source })?;
    }
    let ctx = Context {
        quiet: cli.quiet,
        verbose: cli.verbose,
        // Lossy: an argument that is not UTF-8 is recorded with U+FFFD in the history.
        command_line: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" "),
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

/// Every subcommand takes negative numbers as values (`--site -26.8,116.8,377`,
/// `--dec-deg -30`): an argument that looks like a negative number is never a flag here.
fn command() -> clap::Command {
    fn negatives(c: clap::Command) -> clap::Command {
        c.allow_negative_numbers(true).mut_subcommands(negatives)
    }
    negatives(<Cli as clap::CommandFactory>::command())
}

/// The parsed command line.
fn parse() -> Result<Cli, clap::Error> {
    let m = command().try_get_matches()?;
    <Cli as clap::FromArgMatches>::from_arg_matches(&m)
}

/// Parses the command line, runs the subcommand, prints any error with its causes. Exit
/// codes: 0 done, 1 failed (nothing written), 2 the command line cannot be parsed, 130
/// interrupted.
pub fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version go to stdout: a closed pipe is not worth a panic.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 2) as u8);
        }
    };
    install_interrupt_handler();
    fxgrid::io::defer_outputs();
    let result = run(cli).and_then(|()| Ok(fxgrid::io::commit_outputs()?));
    if result.is_err() {
        fxgrid::io::discard_outputs();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that closed the pipe wanted no more: no message.
        Err(CliError::Stdout(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{}", error::describe(&e));
            ExitCode::FAILURE
        }
    }
}
