//! `fxgrid channelise`: a voltage file through a polyphase filterbank per input.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

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
    let cfg = a.params()?;
    let t0 = Instant::now();
    let sum = fxgrid::fx::files::channelise_file(
        &a.input,
        &a.out,
        &cfg,
        &ctx.history(),
        &ctx.progress("channelise"),
    )?;
    if !ctx.quiet {
        println!(
            "wrote {}: {} spectra, {:.2} s",
            a.out.display(),
            sum.n_written,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
