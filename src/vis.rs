//! [`Visibilities`]: data on a regular `[time, baseline, channel, pol]` grid with its
//! metadata, shapes checked once at construction.

use ndarray::{Array3, Array4, ArrayView3, ArrayView4, ArrayViewMut4};
use num_complex::Complex32;
use thiserror::Error;

use crate::telescope::{ArrayLayout, RaDec};

/// Polarisation products, in the library order XX, XY, YX, YY (docs/CONVENTIONS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pol {
    /// `<x_p^* x_q>`.
    XX,
    /// `<x_p^* y_q>`.
    XY,
    /// `<y_p^* x_q>`.
    YX,
    /// `<y_p^* y_q>`.
    YY,
}

impl Pol {
    /// The four products in library order.
    pub const ALL: [Pol; 4] = [Pol::XX, Pol::XY, Pol::YX, Pol::YY];

    /// AIPS memo 117 code, as in UVH5 `polarization_array`: XX −5, YY −6, XY −7, YX −8.
    pub fn aips_code(self) -> i64 {
        match self {
            Pol::XX => -5,
            Pol::YY => -6,
            Pol::XY => -7,
            Pol::YX => -8,
        }
    }

    /// The product with this AIPS code, if it is a linear one.
    pub fn from_aips_code(code: i64) -> Option<Pol> {
        Pol::ALL.into_iter().find(|p| p.aips_code() == code)
    }

    /// Name, e.g. `"XX"`.
    pub fn name(self) -> &'static str {
        match self {
            Pol::XX => "XX",
            Pol::XY => "XY",
            Pol::YX => "YX",
            Pol::YY => "YY",
        }
    }
}

/// Units of the visibility data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisUnits {
    /// Jansky (predicted from a sky model, or calibrated).
    Jy,
    /// Uncalibrated correlator units.
    Uncalib,
}

impl VisUnits {
    /// The units a UVH5 `vis_units` (or Measurement Set `QuantumUnits`) string names:
    /// `"Jy"` is Jansky, anything else uncalibrated.
    pub fn from_name(name: &str) -> Self {
        if name == "Jy" {
            VisUnits::Jy
        } else {
            VisUnits::Uncalib
        }
    }

    /// The UVH5 `vis_units` string.
    pub fn as_str(self) -> &'static str {
        match self {
            VisUnits::Jy => "Jy",
            VisUnits::Uncalib => "uncalib",
        }
    }
}

/// Everything about a set of visibilities except the data arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct VisMeta {
    /// The array.
    pub layout: ArrayLayout,
    /// Phase centre (ICRS).
    pub phase_centre: RaDec,
    /// Name of the phase centre.
    pub phase_centre_name: String,
    /// Integration centres, Julian Date UTC (length `n_times`).
    pub times_jd_utc: Vec<f64>,
    /// Local apparent sidereal time of each integration centre (rad).
    pub lst_rad: Vec<f64>,
    /// Apparent RA of the phase centre per time (rad), pyuvdata's `phase_center_app_ra`.
    pub app_ra_rad: Vec<f64>,
    /// Apparent Dec of the phase centre per time (rad).
    pub app_dec_rad: Vec<f64>,
    /// Frame position angle per time (rad).
    pub frame_pa_rad: Vec<f64>,
    /// Integration time (s).
    pub int_time_s: f64,
    /// Channel centre frequencies (Hz).
    pub freqs_hz: Vec<f64>,
    /// Channel width (Hz).
    pub chan_width_hz: f64,
    /// Baselines `(p, q)`, `p <= q`, antenna indices into `layout`.
    pub baselines: Vec<(usize, usize)>,
    /// Polarisation products (the library order).
    pub pols: Vec<Pol>,
    /// Units of the data.
    pub units: VisUnits,
    /// Provenance: the fxgrid version and the configuration that made the data.
    pub history: String,
}

impl VisMeta {
    /// The regular observation these data sample: integrations of `int_time_s` centred on
    /// `times_jd_utc` (assumed evenly spaced) and channels from `freqs_hz[0]` in steps of
    /// `chan_width_hz` — what [`crate::sky::predict()`] needs to predict the same samples.
    pub fn observation(&self) -> crate::telescope::Observation {
        crate::telescope::Observation {
            phase_centre: self.phase_centre,
            start_jd_utc: self.times_jd_utc.first().copied().unwrap_or(0.0)
                - self.int_time_s / 2.0 / crate::telescope::SECONDS_PER_DAY,
            n_times: self.times_jd_utc.len(),
            int_time_s: self.int_time_s,
            freq_start_hz: self.freqs_hz.first().copied().unwrap_or(0.0),
            chan_width_hz: self.chan_width_hz,
            n_chan: self.freqs_hz.len(),
        }
    }

    /// The metadata of `obs` observed by `layout` on `baselines` (all polarisations), and
    /// the uvw (m) of every baseline at every integration centre (`[time, baseline, 3]`,
    /// `uvw_q − uvw_p`).
    pub fn for_observation(
        layout: &ArrayLayout,
        obs: &crate::telescope::Observation,
        baselines: Vec<(usize, usize)>,
        units: VisUnits,
        history: String,
    ) -> Result<(Self, ndarray::Array3<f64>), crate::telescope::TelescopeError> {
        Self::for_observation_times(layout, obs, 0..obs.n_times, baselines, units, history)
    }

    /// [`VisMeta::for_observation`] of the integrations `times` of `obs` only, bit for bit
    /// the same values: for making an observation a few integrations at a time.
    pub fn for_observation_times(
        layout: &ArrayLayout,
        obs: &crate::telescope::Observation,
        times: std::ops::Range<usize>,
        baselines: Vec<(usize, usize)>,
        units: VisUnits,
        history: String,
    ) -> Result<(Self, ndarray::Array3<f64>), crate::telescope::TelescopeError> {
        let geom = crate::telescope::time_geometry_range(layout, obs, times)?;
        let mut uvw = ndarray::Array3::<f64>::zeros((geom.len(), baselines.len(), 3));
        for (t, g) in geom.iter().enumerate() {
            let ant = crate::telescope::antenna_uvw(layout, &g.frame);
            for (b, &(p, q)) in baselines.iter().enumerate() {
                let d = (ant[q] - ant[p]).to_array();
                for k in 0..3 {
                    uvw[[t, b, k]] = d[k];
                }
            }
        }
        let meta = VisMeta {
            layout: layout.clone(),
            phase_centre: obs.phase_centre,
            phase_centre_name: "phase_centre".into(),
            times_jd_utc: geom.iter().map(|g| g.jd_utc).collect(),
            lst_rad: geom.iter().map(|g| g.lst_rad()).collect(),
            app_ra_rad: geom.iter().map(|g| g.frame.centre.app_ra_rad).collect(),
            app_dec_rad: geom.iter().map(|g| g.frame.centre.dec_rad).collect(),
            frame_pa_rad: geom.iter().map(|g| g.frame.frame_pa_rad).collect(),
            int_time_s: obs.int_time_s,
            freqs_hz: obs.freqs_hz(),
            chan_width_hz: obs.chan_width_hz,
            baselines,
            pols: Pol::ALL.to_vec(),
            units,
            history,
        };
        Ok((meta, uvw))
    }
}

/// A shape or metadata inconsistency found at construction.
#[derive(Debug, Error)]
#[error("inconsistent visibilities: {what}: expected {expected}, found {found}")]
pub struct VisShapeError {
    /// What was checked.
    pub what: String,
    /// What it should have been.
    pub expected: String,
    /// What it was.
    pub found: String,
}

/// Visibilities `[time, baseline, channel, pol]` with weights (UVH5 `nsamples`), flags
/// and per-baseline-time uvw (m, `r_q − r_p`).
#[derive(Debug, Clone)]
pub struct Visibilities {
    meta: VisMeta,
    data_tbfp: Array4<Complex32>,
    weights_tbfp: Array4<f32>,
    flags_tbfp: Array4<bool>,
    uvw_tb_m: Array3<f64>,
}

impl Visibilities {
    /// Assemble and check shapes: data, weights and flags `[n_times, n_bl, n_chan, n_pol]`,
    /// uvw `[n_times, n_bl, 3]`, per-time vectors of length `n_times`, baselines valid for
    /// the layout.
    pub fn new(
        meta: VisMeta,
        data_tbfp: Array4<Complex32>,
        weights_tbfp: Array4<f32>,
        flags_tbfp: Array4<bool>,
        uvw_tb_m: Array3<f64>,
    ) -> Result<Self, VisShapeError> {
        let nt = meta.times_jd_utc.len();
        let nb = meta.baselines.len();
        let nf = meta.freqs_hz.len();
        let np = meta.pols.len();
        let want = [nt, nb, nf, np];
        let check = |what: &str, found: &[usize], expected: &[usize]| {
            if found == expected {
                Ok(())
            } else {
                Err(VisShapeError {
                    what: what.to_string(),
                    expected: format!("{expected:?}"),
                    found: format!("{found:?}"),
                })
            }
        };
        check(
            "data shape [time, baseline, channel, pol]",
            data_tbfp.shape(),
            &want,
        )?;
        check("weights shape", weights_tbfp.shape(), &want)?;
        check("flags shape", flags_tbfp.shape(), &want)?;
        check(
            "uvw shape [time, baseline, 3]",
            uvw_tb_m.shape(),
            &[nt, nb, 3],
        )?;
        for (name, v) in [
            ("lst_rad", &meta.lst_rad),
            ("app_ra_rad", &meta.app_ra_rad),
            ("app_dec_rad", &meta.app_dec_rad),
            ("frame_pa_rad", &meta.frame_pa_rad),
        ] {
            check(&format!("length of {name}"), &[v.len()], &[nt])?;
        }
        let n_ant = meta.layout.n_ant();
        if let Some(&(p, q)) = meta.baselines.iter().find(|&&(p, q)| p > q || q >= n_ant) {
            return Err(VisShapeError {
                what: "baseline".into(),
                expected: format!("p <= q < {n_ant}"),
                found: format!("({p}, {q})"),
            });
        }
        if nt == 0 || nb == 0 || nf == 0 || np == 0 {
            return Err(VisShapeError {
                what: "shape".into(),
                expected: "no empty axis".into(),
                found: format!("{want:?}"),
            });
        }
        Ok(Self {
            meta,
            data_tbfp,
            weights_tbfp,
            flags_tbfp,
            uvw_tb_m,
        })
    }

    /// Metadata.
    pub fn meta(&self) -> &VisMeta {
        &self.meta
    }
    /// Metadata, mutable (history, names; shapes are owned by the arrays).
    pub fn meta_mut(&mut self) -> &mut VisMeta {
        &mut self.meta
    }
    /// Data `[time, baseline, channel, pol]`.
    pub fn data(&self) -> ArrayView4<'_, Complex32> {
        self.data_tbfp.view()
    }
    /// Data, mutable (the shape cannot change).
    pub fn data_mut(&mut self) -> ArrayViewMut4<'_, Complex32> {
        self.data_tbfp.view_mut()
    }
    /// Weights (UVH5 `nsamples`) `[time, baseline, channel, pol]`.
    pub fn weights(&self) -> ArrayView4<'_, f32> {
        self.weights_tbfp.view()
    }
    /// Flags `[time, baseline, channel, pol]`.
    pub fn flags(&self) -> ArrayView4<'_, bool> {
        self.flags_tbfp.view()
    }
    /// Flags, mutable.
    pub fn flags_mut(&mut self) -> ArrayViewMut4<'_, bool> {
        self.flags_tbfp.view_mut()
    }
    /// uvw `[time, baseline, (u, v, w)]` in metres.
    pub fn uvw_m(&self) -> ArrayView3<'_, f64> {
        self.uvw_tb_m.view()
    }
    /// Number of integrations.
    pub fn n_times(&self) -> usize {
        self.meta.times_jd_utc.len()
    }
    /// Number of baselines.
    pub fn n_baselines(&self) -> usize {
        self.meta.baselines.len()
    }
    /// Number of channels.
    pub fn n_chan(&self) -> usize {
        self.meta.freqs_hz.len()
    }
    /// Number of polarisation products.
    pub fn n_pols(&self) -> usize {
        self.meta.pols.len()
    }
}
