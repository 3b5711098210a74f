//! `fxgrid info`: a human-readable summary of a file.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, Context};

/// Arguments of `info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// The file.
    file: PathBuf,
}

/// Prints the summary.
pub fn run(a: &InfoArgs, ctx: &Context) -> Result<(), CliError> {
    super::outputs::Files::new().input("FILE", &a.file)?;
    let s = fxgrid::io::summarise(&a.file)?;
    ctx.say(s.trim_end_matches('\n'))
}
