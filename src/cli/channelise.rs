//! `fxgrid channelise`: a voltage file through a polyphase filterbank per input.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::budget;
use super::outputs::Files;
use super::{CliError, Context};
use fxgrid::channelise::{PfbConfig, Window};

/// Arguments of `channelise`.
#[derive(Args, Debug)]
pub struct ChanneliseArgs {
    /// Input voltage file.
    input: PathBuf,
    /// Number of channels N.
    #[arg(long, default_value_t = 4096)]
    nchan: usize,
    /// Taps per channel T.
    #[arg(long, default_value_t = 12)]
    taps: usize,
    /// Window of the prototype: kaiser:BETA, hann, hamming or blackman-harris.
    #[arg(long, default_value = "kaiser:9")]
    window: String,
    /// Oversampling P/Q (1 = critically sampled; SKA-Low uses 32/27).
    #[arg(long, default_value = "1")]
    oversample: String,
    /// Output spectra file.
    #[arg(long)]
    out: PathBuf,
}

/// `P/Q` with `P >= Q >= 1`, or `P`.
fn parse_oversampling(s: &str) -> Result<(usize, usize), CliError> {
    let bad = || CliError::arg("--oversample", s, "P/Q with integers P >= Q >= 1, or 1");
    let (p, q) = match s.split_once('/') {
        Some((p, q)) => (
            p.trim().parse().map_err(|_| bad())?,
            q.trim().parse().map_err(|_| bad())?,
        ),
        None => (s.trim().parse().map_err(|_| bad())?, 1),
    };
    if q == 0 || p < q {
        return Err(bad());
    }
    Ok((p, q))
}

impl ChanneliseArgs {
    fn params(&self) -> Result<PfbConfig, CliError> {
        Ok(PfbConfig {
            n_chan: self.nchan,
            n_taps: self.taps,
            window: Window::parse(&self.window)?,
            oversampling: parse_oversampling(&self.oversample)?,
            ..Default::default()
        })
    }
}

/// Channelises the file.
pub fn run(a: &ChanneliseArgs, ctx: &Context) -> Result<(), CliError> {
    let mut files = Files::new();
    files.input("INPUT", &a.input)?;
    files.output("--out", &a.out)?;
    let cfg = a.params()?;
    // The filterbank's taps and states and a few blocks in memory; the spectra on disk
    // (P/Q times the samples, 8 bytes each). A file that cannot be opened is reported by
    // the run.
    if let Ok(r) = fxgrid::io::voltages::VoltageReader::open(&a.input) {
        let n_in = 2.0 * r.header.layout.n_ant() as f64;
        let taps = cfg.n_chan as f64 * cfg.n_taps as f64;
        budget::check_memory(
            "channelise",
            taps * (4.0 + 16.0 * n_in) + 256e6,
            "ask for fewer channels (--nchan) or taps (--taps)",
        )?;
        let (p, q) = cfg.oversampling;
        budget::check_disk(
            &a.out,
            r.n_samples as f64 * n_in * 8.0 * p as f64 / q as f64,
            "write elsewhere",
        )?;
    }
    let t0 = Instant::now();
    let sum = fxgrid::fx::files::channelise_file(
        &a.input,
        &a.out,
        &cfg,
        &ctx.history(),
        &ctx.progress("channelise"),
    )?;
    ctx.say(&format!(
        "wrote {}: {} spectra, {:.2} s",
        a.out.display(),
        sum.n_written,
        t0.elapsed().as_secs_f64()
    ))?;
    files.commit()
}
