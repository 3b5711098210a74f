//! Arguments shared by several subcommands, and the parsers that turn argument text
//! into library parameters. Every parser names the flag it read in its errors.

use std::ops::Range;
use std::path::PathBuf;

use clap::Args;

use super::outputs::Files;
use super::CliError;
use fxgrid::sky::{Component, SkyModel};
use fxgrid::telescope::{
    default_day_jd_utc, ska_low_like, ska_mid_like, transit_centred_start, ArrayLayout,
    LatLonHeight, RaDec, SKA_LOW_SITE,
};

/// The most stations a synthetic layout may have (SKA-Low has 512).
const MAX_STATIONS: usize = 100_000;

/// The array.
#[derive(Args, Debug)]
pub struct LayoutArgs {
    /// Array: `ska-low[:N]` (N stations, default 512), `ska-mid`, or a CSV file
    /// `name,east_m,north_m,up_m`.
    #[arg(long, default_value = "ska-low")]
    pub layout: String,
    /// Site of a CSV layout: `LAT_DEG,LON_DEG,HEIGHT_M` (default: the SKA-Low site).
    #[arg(long, value_name = "LAT,LON,H", allow_hyphen_values = true)]
    pub site: Option<String>,
    /// Seed of the synthetic layouts.
    #[arg(long, default_value_t = 1)]
    pub layout_seed: u64,
}

impl LayoutArgs {
    /// Declares the layout CSV (if `--layout` names one) as an input.
    pub fn declare(&self, files: &mut Files) -> Result<(), CliError> {
        if !self.layout.starts_with("ska-") {
            files.input("--layout", std::path::Path::new(&self.layout))?;
        }
        Ok(())
    }

    /// The array layout the arguments name.
    pub fn layout(&self) -> Result<ArrayLayout, CliError> {
        let spec = self.layout.as_str();
        if let Some(rest) = spec.strip_prefix("ska-low") {
            let n = match rest.strip_prefix(':') {
                Some(n) => n
                    .parse::<usize>()
                    .map_err(|e| CliError::arg("--layout", spec, format!("ska-low:N ({e})")))?,
                None if rest.is_empty() => 512,
                None => return Err(CliError::arg("--layout", spec, "ska-low or ska-low:N")),
            };
            if n > MAX_STATIONS {
                return Err(CliError::arg(
                    "--layout",
                    spec,
                    format!("ska-low:N with N up to {MAX_STATIONS}"),
                ));
            }
            return Ok(ska_low_like(n, self.layout_seed)?);
        }
        if spec == "ska-mid" {
            return Ok(ska_mid_like(self.layout_seed)?);
        }
        let site = match &self.site {
            Some(s) => {
                let [lat, lon, h] = parse_triplet(s, "--site")?;
                LatLonHeight::from_degrees(lat, lon, h)
            }
            None => SKA_LOW_SITE,
        };
        let path = PathBuf::from(spec);
        if !path.exists() {
            return Err(CliError::arg(
                "--layout",
                format!("{spec:?}"),
                "ska-low[:N], ska-mid, or an existing CSV file",
            ));
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ArrayLayout::from_csv(&path, &name, site)?)
    }
}

/// Where the array points and what it sees: shared by the simulators.
#[derive(Args, Debug)]
pub struct PointingArgs {
    /// Sky-model file (fxgrid text format; `simulate voltages` takes point components only).
    #[arg(long)]
    pub sky: Option<PathBuf>,
    /// A point source `RA_DEG,DEC_DEG,FLUX_JY` (flat spectrum); may be repeated.
    #[arg(long, value_name = "RA,DEC,FLUX", allow_hyphen_values = true)]
    pub source: Vec<String>,
    /// Phase-centre right ascension (deg, ICRS).
    #[arg(long, allow_hyphen_values = true)]
    pub ra_deg: f64,
    /// Phase-centre declination (deg, ICRS).
    #[arg(long, allow_hyphen_values = true)]
    pub dec_deg: f64,
    /// Julian Date (UTC) of the start of the data (default: centred on the phase centre's
    /// transit on 2025-06-01).
    #[arg(long)]
    pub start_jd: Option<f64>,
}

impl PointingArgs {
    /// Declares `--sky` as an input.
    pub fn declare(&self, files: &mut Files) -> Result<(), CliError> {
        if let Some(p) = &self.sky {
            files.input("--sky", p)?;
        }
        Ok(())
    }

    /// The phase centre.
    pub fn centre(&self) -> Result<RaDec, CliError> {
        radec(self.ra_deg, self.dec_deg, "--ra-deg/--dec-deg")
    }

    /// The components of `--sky` and `--source`.
    pub fn components(&self) -> Result<Vec<Component>, CliError> {
        let mut comps = Vec::new();
        if let Some(p) = &self.sky {
            comps.extend(SkyModel::read(p)?.components);
        }
        for s in &self.source {
            let [ra, dec, flux] = parse_triplet(s, "--source")?;
            comps.push(Component::point(RaDec::from_degrees(ra, dec), flux));
        }
        Ok(comps)
    }

    /// `--start-jd`, or by default the start that centres `duration_s` on the transit of
    /// the phase centre on the default observing day.
    pub fn start_jd(&self, layout: &ArrayLayout, duration_s: f64) -> Result<f64, CliError> {
        match self.start_jd {
            Some(j) => Ok(j),
            None => Ok(transit_centred_start(
                layout,
                self.centre()?,
                default_day_jd_utc(),
                duration_s,
            )?),
        }
    }
}

/// A direction from degrees, checked.
pub fn radec(ra_deg: f64, dec_deg: f64, flag: &'static str) -> Result<RaDec, CliError> {
    let centre = RaDec::from_degrees(ra_deg, dec_deg);
    if centre.is_valid() {
        Ok(centre)
    } else {
        Err(CliError::arg(
            flag,
            format!("{ra_deg},{dec_deg}"),
            "a sky direction (|Dec| <= 90): not a sky direction",
        ))
    }
}

/// Three comma-separated numbers.
pub fn parse_triplet(s: &str, flag: &'static str) -> Result<[f64; 3], CliError> {
    let bad = || CliError::arg(flag, format!("{s:?}"), "3 comma-separated numbers");
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    v.try_into().map_err(|_| bad())
}

/// `f32` or `f64`.
pub fn parse_precision(s: &str) -> Result<fxgrid::grid::Precision, CliError> {
    fxgrid::grid::Precision::from_name(s)
        .ok_or_else(|| CliError::arg("--precision", s, "f32 or f64"))
}

/// `A:B` with `0 <= A < B`.
pub fn parse_channels(s: &str) -> Result<Range<usize>, CliError> {
    let bad = || CliError::arg("--channels", s, "A:B with 0 <= A < B");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let a: usize = a.trim().parse().map_err(|_| bad())?;
    let b: usize = b.trim().parse().map_err(|_| bad())?;
    if a >= b {
        return Err(CliError::arg("--channels", s, "A < B: the range is empty"));
    }
    Ok(a..b)
}

/// `MIN:MAX` with `MIN < MAX`, either may be empty (unbounded).
pub fn parse_range(s: &str, flag: &'static str) -> Result<Range<f64>, CliError> {
    let bad = || CliError::arg(flag, s, "MIN:MAX with MIN < MAX (either may be empty)");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let num = |x: &str, d: f64| -> Result<f64, CliError> {
        let x = x.trim();
        if x.is_empty() {
            Ok(d)
        } else {
            x.parse::<f64>()
                .ok()
                .filter(|v| !v.is_nan())
                .ok_or_else(bad)
        }
    };
    let (lo, hi) = (num(a, f64::NEG_INFINITY)?, num(b, f64::INFINITY)?);
    if lo >= hi {
        return Err(CliError::arg(flag, s, "MIN < MAX: the range is empty"));
    }
    Ok(lo..hi)
}

/// `--epsilon`, or by default 1e-6 in f64 and the most f32 reaches (1e-5) in f32; an
/// accuracy the precision cannot reach says which option to change.
pub fn epsilon(given: Option<f64>, precision: fxgrid::grid::Precision) -> Result<f64, CliError> {
    let floor = precision.min_epsilon();
    let Some(eps) = given else {
        return Ok(floor.max(1e-6));
    };
    if !(eps > 0.0 && eps < 1.0) {
        return Err(CliError::arg("--epsilon", eps, "0 < epsilon < 1"));
    }
    if eps < floor {
        return Err(CliError::arg(
            "--epsilon",
            eps,
            format!(
                "at least {floor:e} in {} (give a larger --epsilon, or --precision f64)",
                precision.name()
            ),
        ));
    }
    Ok(eps)
}
