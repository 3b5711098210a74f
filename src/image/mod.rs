//! Images: geometry (phase centre, cells, frequencies, Stokes), and dirty images and PSFs
//! made from [`Visibilities`] in memory with the gridder. Imaging files as they stream is
//! [`crate::imaging`]'s; PNG previews and plots are [`crate::plot`]'s.
//!
//! Orientation follows [`crate::conventions`]: `data[[plane, row, col]]`, the column index
//! growing as `l` decreases (east on the left), the row index growing with `m` (row 0 is
//! the south edge, FITS order), the phase centre at pixel `(ny/2, nx/2)`.

use std::ops::Range;
use std::time::Instant;

use ndarray::{s, Array2, Array3, ArrayView2, Zip};
use num_complex::Complex;

use crate::grid::weighting::{imaging_weights, RankFilter, Weighting};
use crate::grid::{
    dirty2vis, GridConfig, GridError, GridFloat, GridPlan, GridReport, GridWorkspace, Precision,
};
use crate::telescope::RaDec;
use crate::vis::{Pol, Visibilities};

/// What an image plane holds, with its FITS `STOKES` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stokes {
    /// Total intensity.
    I,
    /// A single linear correlation product.
    Pol(Pol),
}

impl Stokes {
    /// FITS STOKES axis value (1 = I; −5..−8 = XX, YY, XY, YX).
    pub fn fits_code(self) -> i32 {
        match self {
            Stokes::I => 1,
            Stokes::Pol(Pol::XX) => -5,
            Stokes::Pol(Pol::YY) => -6,
            Stokes::Pol(Pol::XY) => -7,
            Stokes::Pol(Pol::YX) => -8,
        }
    }

    /// From a FITS STOKES value.
    pub fn from_fits_code(code: i32) -> Option<Stokes> {
        Some(match code {
            1 => Stokes::I,
            -5 => Stokes::Pol(Pol::XX),
            -6 => Stokes::Pol(Pol::YY),
            -7 => Stokes::Pol(Pol::XY),
            -8 => Stokes::Pol(Pol::YX),
            _ => return None,
        })
    }
}

/// Where an image is on the sky and in frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageGeometry {
    /// Phase centre (ICRS), at pixel `(npix_y/2, npix_x/2)`.
    pub phase_centre: RaDec,
    /// Columns.
    pub npix_x: usize,
    /// Rows.
    pub npix_y: usize,
    /// Pixel size along l (rad, direction cosine at the centre).
    pub cell_x_rad: f64,
    /// Pixel size along m.
    pub cell_y_rad: f64,
    /// Centre frequency of each plane (Hz).
    pub freqs_hz: Vec<f64>,
    /// Bandwidth of each plane (Hz).
    pub freq_width_hz: f64,
    /// What the planes hold.
    pub stokes: Stokes,
    /// Observation start (Julian Date, UTC), FITS `DATE-OBS`.
    pub date_obs_jd_utc: f64,
}

impl ImageGeometry {
    /// `(l, m)` of pixel `(row, col)` (fractional pixels allowed).
    pub fn pixel_to_lm(&self, row: f64, col: f64) -> (f64, f64) {
        (
            -(col - (self.npix_x / 2) as f64) * self.cell_x_rad,
            (row - (self.npix_y / 2) as f64) * self.cell_y_rad,
        )
    }

    /// Fractional `(row, col)` of direction cosines `(l, m)`.
    pub fn lm_to_pixel(&self, l: f64, m: f64) -> (f64, f64) {
        (
            (self.npix_y / 2) as f64 + m / self.cell_y_rad,
            (self.npix_x / 2) as f64 - l / self.cell_x_rad,
        )
    }

    /// Fractional `(row, col)` of a sky position (SIN projection), or `None` behind the
    /// phase centre's hemisphere.
    pub fn radec_to_pixel(&self, p: RaDec) -> Option<(f64, f64)> {
        let lmn = p.to_lmn(self.phase_centre);
        (lmn.n > 0.0).then(|| self.lm_to_pixel(lmn.l, lmn.m))
    }

    /// Sky position of pixel `(row, col)`, or `None` beyond the horizon of the projection.
    pub fn pixel_to_radec(&self, row: f64, col: f64) -> Option<RaDec> {
        let (l, m) = self.pixel_to_lm(row, col);
        lm_to_radec(self.phase_centre, l, m)
    }
}

/// The sky position at direction cosines `(l, m)` from `centre` (SIN projection).
pub fn lm_to_radec(centre: RaDec, l: f64, m: f64) -> Option<RaDec> {
    let r2 = l * l + m * m;
    if r2 >= 1.0 {
        return None;
    }
    let n = (1.0 - r2).sqrt();
    let (sd0, cd0) = centre.dec_rad.sin_cos();
    let dec = (m * cd0 + n * sd0).clamp(-1.0, 1.0).asin();
    let ra = centre.ra_rad + l.atan2(n * cd0 - m * sd0);
    Some(RaDec {
        ra_rad: ra.rem_euclid(std::f64::consts::TAU),
        dec_rad: dec,
    })
}

/// An image cube `[plane, row, col]` with its geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Where the pixels are.
    pub geometry: ImageGeometry,
    /// Pixel values.
    pub data: Array3<f32>,
    /// Brightness unit (FITS `BUNIT`), e.g. "JY/BEAM".
    pub unit: String,
    /// Provenance lines (FITS `HISTORY`).
    pub history: Vec<String>,
    /// Restoring beam of a deconvolved image (FITS `BMAJ`, `BMIN`, `BPA`).
    pub beam: Option<Beam>,
}

/// An elliptical Gaussian restoring beam.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beam {
    /// Full width at half maximum of the major axis (rad).
    pub major_rad: f64,
    /// Full width at half maximum of the minor axis (rad).
    pub minor_rad: f64,
    /// Position angle of the major axis, north through east (rad, in (−π/2, π/2]).
    pub pa_rad: f64,
}

impl Image {
    /// Largest pixel of plane `plane`: `(row, col, value)`.
    pub fn peak(&self, plane: usize) -> (usize, usize, f32) {
        let mut best = (0, 0, f32::NEG_INFINITY);
        for ((r, c), &v) in self.data.slice(s![plane, .., ..]).indexed_iter() {
            if v > best.2 {
                best = (r, c, v);
            }
        }
        best
    }
}

/// How to image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagingConfig {
    /// Columns.
    pub npix_x: usize,
    /// Rows.
    pub npix_y: usize,
    /// Pixel size (rad), both axes; `None` chooses a third of the finest fringe spacing
    /// at the highest frequency of the data imaged ([`auto_cell_rad`]).
    pub cell_rad: Option<f64>,
    /// Weighting scheme.
    pub weighting: Weighting,
    /// The rank filter of uniform and Briggs weighting (`None`: off; WSClean's default is
    /// [`RankFilter::default`]).
    pub weight_rank_filter: Option<RankFilter>,
    /// Gridding accuracy.
    pub epsilon: f64,
    /// Gridding precision.
    pub precision: Precision,
    /// w-stacking (`None`: on when the w-term exceeds 0.05 turn anywhere in the field).
    pub wstacking: Option<bool>,
    /// Channels to image (`None`: all).
    pub channels: Option<Range<usize>>,
    /// One plane per channel instead of one multi-frequency-synthesis plane.
    pub per_channel: bool,
}

impl ImagingConfig {
    /// The weighting as reports and FITS history give it, with the rank filter when it
    /// applies.
    pub fn weighting_description(&self) -> String {
        match (self.weighting, self.weight_rank_filter) {
            (Weighting::Uniform | Weighting::Briggs(_), Some(f)) => format!(
                "{} (rank filter {} x {} cells)",
                self.weighting.describe(),
                f.level,
                f.size
            ),
            _ => self.weighting.describe(),
        }
    }

    /// The gridder configuration of this imaging (the cell must be chosen).
    pub fn grid_config(&self, wstacking: bool) -> Result<GridConfig, GridError> {
        let cell_rad = self.cell_rad.ok_or_else(|| GridError::InvalidConfig {
            field: "cell_rad",
            value: "None".into(),
            expected: "a pixel size: choose one from the data with auto_cell_rad".into(),
        })?;
        let gcfg = GridConfig {
            wstacking,
            ..GridConfig::new(self.npix_x, self.npix_y, cell_rad, self.epsilon)
        };
        gcfg.validate()?;
        Ok(gcfg)
    }

    /// The channel ranges (within the selected channels `0..nchan`) of each image plane:
    /// one plane of all, or one per channel.
    pub fn planes(&self, nchan: usize) -> Vec<Range<usize>> {
        if self.per_channel {
            (0..nchan).map(|c| c..c + 1).collect()
        } else {
            std::iter::once(0..nchan).collect()
        }
    }

    /// The geometry of the image planes of the selected channels (`freqs_hz`, each of
    /// width `chan_width_hz`), with `cell_rad` (the configuration's or the one chosen).
    pub fn geometry(
        &self,
        phase_centre: RaDec,
        cell_rad: f64,
        freqs_hz: &[f64],
        chan_width_hz: f64,
        date_obs_jd_utc: f64,
    ) -> ImageGeometry {
        let freqs: Vec<f64> = self
            .planes(freqs_hz.len())
            .iter()
            .map(|c| {
                let f = &freqs_hz[c.clone()];
                f.iter().sum::<f64>() / f.len() as f64
            })
            .collect();
        let width = if self.per_channel {
            chan_width_hz
        } else {
            chan_width_hz * freqs_hz.len() as f64
        };
        ImageGeometry {
            phase_centre,
            npix_x: self.npix_x,
            npix_y: self.npix_y,
            cell_x_rad: cell_rad,
            cell_y_rad: cell_rad,
            freqs_hz: freqs,
            freq_width_hz: width,
            stokes: Stokes::I,
            date_obs_jd_utc,
        }
    }
}

/// Times and parameters of one imaging run.
#[derive(Debug, Clone, Default)]
pub struct ImagingReport {
    /// Gridder report of each plane of the dirty image.
    pub grid: Vec<GridReport>,
    /// Whether w-stacking was used.
    pub wstacking: bool,
    /// Weighting, selection and Stokes combination (s).
    pub prepare_s: f64,
    /// Samples imaged (rows × channels, unflagged, non-zero weight).
    pub n_vis: usize,
    /// Sum of the imaging weights (the normalisation).
    pub weight_sum: f64,
}

/// Stokes I samples of `vis` as `[row, chan]` arrays (rows = time × baseline,
/// cross-correlations only): `(XX + YY)/2` with weight `4/(1/w_XX + 1/w_YY)`, flagged
/// where either is; a single XX or YY product is used as it is.
#[derive(Debug, Clone)]
pub struct StokesI {
    /// uvw per row (m).
    pub uvw_m: Array2<f64>,
    /// Frequencies (Hz).
    pub freqs_hz: Vec<f64>,
    /// Visibilities.
    pub vis: Array2<Complex<f64>>,
    /// Data weights.
    pub weight: Array2<f32>,
    /// Flags.
    pub flags: Array2<bool>,
}

/// Selects channels and forms Stokes I (see [`StokesI`]).
pub fn stokes_i(vis: &Visibilities, channels: Range<usize>) -> Result<StokesI, GridError> {
    let meta = vis.meta();
    let pols = &meta.pols;
    let ix = pols.iter().position(|&p| p == Pol::XX);
    let iy = pols.iter().position(|&p| p == Pol::YY);
    if ix.is_none() && iy.is_none() {
        return Err(GridError::Empty(format!(
            "Stokes I needs XX or YY; the data have {:?}",
            pols.iter().map(|p| p.name()).collect::<Vec<_>>()
        )));
    }
    if channels.is_empty() || channels.end > vis.n_chan() {
        return Err(GridError::InvalidConfig {
            field: "channels",
            value: format!("{}:{}", channels.start, channels.end),
            expected: format!("a non-empty range within 0:{}", vis.n_chan()),
        });
    }
    let cross: Vec<usize> = (0..vis.n_baselines())
        .filter(|&b| meta.baselines[b].0 != meta.baselines[b].1)
        .collect();
    let nrow = vis.n_times() * cross.len();
    let nchan = channels.len();
    let data = vis.data();
    let w = vis.weights();
    let f = vis.flags();
    let uvw = vis.uvw_m();
    let mut out = StokesI {
        uvw_m: Array2::zeros((nrow, 3)),
        freqs_hz: meta.freqs_hz[channels.clone()].to_vec(),
        vis: Array2::zeros((nrow, nchan)),
        weight: Array2::zeros((nrow, nchan)),
        flags: Array2::from_elem((nrow, nchan), true),
    };
    for t in 0..vis.n_times() {
        for (i, &b) in cross.iter().enumerate() {
            let row = t * cross.len() + i;
            for k in 0..3 {
                out.uvw_m[[row, k]] = uvw[[t, b, k]];
            }
            for (c, ch) in channels.clone().enumerate() {
                let get = |p: Option<usize>| {
                    p.map(|p| {
                        (
                            data[[t, b, ch, p]],
                            w[[t, b, ch, p]],
                            f[[t, b, ch, p]] || w[[t, b, ch, p]] <= 0.0,
                        )
                    })
                };
                let (v, wt, flag) = match (get(ix), get(iy)) {
                    (Some((vx, wx, fx)), Some((vy, wy, fy))) => (
                        (vx + vy) * 0.5,
                        if fx || fy {
                            0.0
                        } else {
                            4.0 / (1.0 / wx + 1.0 / wy)
                        },
                        fx || fy,
                    ),
                    (Some(one), None) | (None, Some(one)) => one,
                    (None, None) => unreachable!("checked above"),
                };
                out.vis[[row, c]] = Complex::new(v.re as f64, v.im as f64);
                out.weight[[row, c]] = wt;
                out.flags[[row, c]] = flag || !(v.re.is_finite() && v.im.is_finite());
            }
        }
    }
    Ok(out)
}

/// Whether the w-term matters: its largest phase over the field, `|w| · |n − 1|`, above
/// 0.05 turn.
pub fn needs_wstacking(data: &StokesI, npix_x: usize, npix_y: usize, cell_rad: f64) -> bool {
    let fmax = data.freqs_hz.iter().copied().fold(0.0, f64::max);
    let wmax_m = data
        .uvw_m
        .column(2)
        .iter()
        .fold(0.0f64, |a, w| a.max(w.abs()));
    w_term_matters(
        wmax_m * fmax / crate::telescope::SPEED_OF_LIGHT_M_S,
        npix_x,
        npix_y,
        cell_rad,
    )
}

/// Whether a largest `|w|` of `wmax_lambda` wavelengths gives a w-term phase above 0.05
/// turn anywhere in the field of `npix_x × npix_y` cells of `cell_rad`.
pub fn w_term_matters(wmax_lambda: f64, npix_x: usize, npix_y: usize, cell_rad: f64) -> bool {
    let l = cell_rad * (npix_x / 2) as f64;
    let m = cell_rad * (npix_y / 2) as f64;
    let r2 = (l * l + m * m).min(0.999);
    wmax_lambda * crate::grid::n_minus_1(r2.sqrt(), 0.0).abs() > 0.05
}

/// The automatic pixel size: a third of the finest fringe spacing, `1 / (3 · uv_max)`, for
/// the longest projected baseline `uv_max_lambda` (wavelengths) at the highest frequency.
pub fn auto_cell_rad(uv_max_lambda: f64) -> Result<f64, GridError> {
    if !(uv_max_lambda > 0.0 && uv_max_lambda.is_finite()) {
        return Err(GridError::Empty(
            "all selected baselines have zero projected length; give a cell size".into(),
        ));
    }
    Ok(1.0 / (3.0 * uv_max_lambda))
}

/// [`auto_cell_rad`] for the samples of `data`: their longest projected baseline at the
/// highest frequency.
pub fn auto_cell_of(data: &StokesI) -> Result<f64, GridError> {
    let fmax = data.freqs_hz.iter().copied().fold(0.0, f64::max);
    let uvmax = data
        .uvw_m
        .rows()
        .into_iter()
        .map(|r| r[0].hypot(r[1]))
        .fold(0.0, f64::max);
    auto_cell_rad(uvmax * fmax / crate::telescope::SPEED_OF_LIGHT_M_S)
}

/// Dirty image (Jy/beam: a 1 Jy point source at the phase centre reads 1) and PSF (peak 1)
/// of the Stokes I data of `vis`.
pub fn dirty_image_and_psf(
    vis: &Visibilities,
    cfg: &ImagingConfig,
) -> Result<(Image, Image, ImagingReport), GridError> {
    let t0 = Instant::now();
    cfg.weighting.validate()?;
    let channels = cfg.channels.clone().unwrap_or(0..vis.n_chan());
    let data = stokes_i(vis, channels.clone())?;
    let mut cfg = cfg.clone();
    if cfg.cell_rad.is_none() {
        cfg.cell_rad = Some(auto_cell_of(&data)?);
    }
    let cfg = &cfg;
    let cell_rad = cfg.cell_rad.unwrap_or_default();
    let wstacking = cfg
        .wstacking
        .unwrap_or_else(|| needs_wstacking(&data, cfg.npix_x, cfg.npix_y, cell_rad));
    let mut imager = DirtyImager::new(cfg, wstacking, channels.clone())?;
    let weights = imaging_weights(
        cfg.weighting,
        cfg.weight_rank_filter,
        imager.grid_config(),
        data.uvw_m.view(),
        &data.freqs_hz,
        Some(data.weight.view()),
        Some(data.flags.view()),
    )?;
    imager.report.prepare_s = t0.elapsed().as_secs_f64();
    imager.add(&data, &weights)?;
    let meta = vis.meta();
    let date_obs =
        meta.times_jd_utc.first().copied().unwrap_or(0.0) - 0.5 * meta.int_time_s / 86_400.0;
    let (dirty, psf, report) = imager.finish(
        meta.phase_centre,
        &meta.freqs_hz[channels],
        meta.chan_width_hz,
        date_obs,
    )?;
    Ok((dirty, psf.expect("the imager makes the PSF"), report))
}

/// Images of the planes summed over blocks, in the gridding precision: an f32 image
/// takes half the memory of an f64 one, and the sum of one block is that block's image
/// bit for bit. A plane's sum is allocated by its first block.
enum PlaneSums {
    F32(Vec<Option<Array2<f32>>>),
    F64(Vec<Option<Array2<f64>>>),
}

impl PlaneSums {
    fn new(precision: Precision, planes: usize) -> Self {
        match precision {
            Precision::F32 => PlaneSums::F32(vec![None; planes]),
            Precision::F64 => PlaneSums::F64(vec![None; planes]),
        }
    }

    fn add<T: GridFloat>(&mut self, p: usize, img: Array2<T>) {
        fn into<E: GridFloat, T: GridFloat>(sum: &mut Option<Array2<E>>, img: Array2<T>) {
            match sum {
                None => *sum = Some(img.mapv(|x| E::of_f64(x.as_f64()))),
                Some(s) => s.zip_mut_with(&img, |a, &b| *a = E::of_f64(a.as_f64() + b.as_f64())),
            }
        }
        match self {
            PlaneSums::F32(v) => into(&mut v[p], img),
            PlaneSums::F64(v) => into(&mut v[p], img),
        }
    }

    /// Each plane's sum divided by its weight, in f32 `[plane, y, x]` (every plane has
    /// data: [`DirtyImager::finish`] checks).
    fn normalised(self, wsum: &[f64], ny: usize, nx: usize) -> Array3<f32> {
        fn planes<E: GridFloat>(v: Vec<Option<Array2<E>>>, wsum: &[f64], out: &mut Array3<f32>) {
            for ((p, sum), &w) in v.into_iter().enumerate().zip(wsum) {
                let sum = sum.expect("every plane has data");
                Zip::from(out.slice_mut(s![p, .., ..]))
                    .and(&sum)
                    .for_each(|o, &x| *o = (x.as_f64() / w) as f32);
            }
        }
        let mut out = Array3::zeros((wsum.len(), ny, nx));
        match self {
            PlaneSums::F32(v) => planes(v, wsum, &mut out),
            PlaneSums::F64(v) => planes(v, wsum, &mut out),
        }
        out
    }
}

/// Dirty image and PSF accumulated over any number of blocks of Stokes I samples (the
/// dirty image is linear in the data): what [`dirty_image_and_psf`] does in one block and
/// what streaming from a file does in many. The sums are held in the gridding precision.
pub struct DirtyImager {
    cfg: ImagingConfig,
    gcfg: GridConfig,
    channels: Range<usize>,
    planes: Vec<Range<usize>>,
    dirty: PlaneSums,
    /// `None`: no PSF is made ([`DirtyImager::without_psf`]).
    psf: Option<PlaneSums>,
    wsum: Vec<f64>,
    /// The report so far.
    pub report: ImagingReport,
}

impl DirtyImager {
    /// An empty image of `cfg` over the selected `channels` (indices into the data's
    /// channels; blocks given to [`DirtyImager::add`] hold exactly these).
    pub fn new(
        cfg: &ImagingConfig,
        wstacking: bool,
        channels: Range<usize>,
    ) -> Result<Self, GridError> {
        cfg.weighting.validate()?;
        if channels.is_empty() {
            return Err(GridError::Empty(format!(
                "the channel range {}:{} is empty",
                channels.start, channels.end
            )));
        }
        let gcfg = cfg.grid_config(wstacking)?;
        let planes = cfg.planes(channels.len());
        Ok(Self {
            cfg: cfg.clone(),
            gcfg,
            channels,
            wsum: vec![0.0; planes.len()],
            dirty: PlaneSums::new(cfg.precision, planes.len()),
            psf: Some(PlaneSums::new(cfg.precision, planes.len())),
            planes,
            report: ImagingReport {
                wstacking,
                ..Default::default()
            },
        })
    }

    /// The imager without the PSF: half the gridding, and no PSF planes held.
    /// [`DirtyImager::finish`] then gives `None` for it.
    pub fn without_psf(mut self) -> Self {
        self.psf = None;
        self
    }

    /// The gridder configuration (image size, cells, ε, w-stacking).
    pub fn grid_config(&self) -> &GridConfig {
        &self.gcfg
    }

    /// Grids one block: `data` holds the selected channels, `weights` the imaging weights
    /// (0 where flagged).
    pub fn add(&mut self, data: &StokesI, weights: &Array2<f32>) -> Result<(), GridError> {
        let nchan = self.channels.len();
        if data.freqs_hz.len() != nchan || weights.dim() != (data.uvw_m.nrows(), nchan) {
            return Err(GridError::Shape {
                what: "imaging block",
                expected: format!(
                    "[{}, {nchan}] (rows, selected channels)",
                    data.uvw_m.nrows()
                ),
                found: format!("{:?} with {} channels", weights.dim(), data.freqs_hz.len()),
            });
        }
        let w = Zip::from(weights)
            .and(&data.flags)
            .map_collect(|&w, &f| if f { 0.0 } else { w });
        fn vis_in<T: GridFloat>(d: &StokesI) -> Array2<Complex<T>> {
            d.vis
                .mapv(|z| Complex::new(T::of_f64(z.re), T::of_f64(z.im)))
        }
        let (uvw, f) = (data.uvw_m.view(), &data.freqs_hz[..]);
        match self.cfg.precision {
            Precision::F32 => self.add_samples(uvw, f, vis_in::<f32>(data).view(), w.view()),
            Precision::F64 => self.add_samples(uvw, f, vis_in::<f64>(data).view(), w.view()),
        }
    }

    /// Grids one block of samples `[row, chan]` over the selected channels: visibilities
    /// in the gridding precision (`cfg.precision`; an error otherwise), their imaging
    /// weights (0 where flagged), rows at `uvw_m` (m), channels at `freqs_hz`. One gridder
    /// plan per image plane makes both its dirty image and its PSF (if made).
    pub fn add_samples<T: GridFloat>(
        &mut self,
        uvw_m: ArrayView2<'_, f64>,
        freqs_hz: &[f64],
        vis: ArrayView2<'_, Complex<T>>,
        weights: ArrayView2<'_, f32>,
    ) -> Result<(), GridError> {
        let nchan = self.channels.len();
        let shape = (uvw_m.nrows(), nchan);
        if freqs_hz.len() != nchan || vis.dim() != shape || weights.dim() != shape {
            return Err(GridError::Shape {
                what: "imaging block",
                expected: format!("[{}, {nchan}] (rows, selected channels)", shape.0),
                found: format!(
                    "visibilities {:?}, weights {:?}, {} channels",
                    vis.dim(),
                    weights.dim(),
                    freqs_hz.len()
                ),
            });
        }
        if T::PRECISION != self.cfg.precision {
            return Err(GridError::InvalidConfig {
                field: "visibility precision",
                value: T::PRECISION.name().into(),
                expected: format!("the imaging precision, {}", self.cfg.precision.name()),
            });
        }
        let one = [Complex::new(T::one(), T::zero())];
        let one = ndarray::aview1(&one);
        // One workspace for every plane: each call leaves its grid zero for the next.
        let mut ws = GridWorkspace::new();
        for (p, chans) in self.planes.iter().enumerate() {
            let w = weights.slice(s![.., chans.clone()]);
            let wsum: f64 = w.iter().map(|&w| w as f64).sum();
            if wsum <= 0.0 {
                continue;
            }
            let plan =
                GridPlan::<T>::new(&self.gcfg, uvw_m, &freqs_hz[chans.clone()], Some(w), None)?;
            let (img, mut rep) = plan.vis2dirty(vis.slice(s![.., chans.clone()]), &mut ws)?;
            self.dirty.add(p, img);
            if let Some(psf) = &mut self.psf {
                // Unit visibilities: a view of one value.
                let ones = one
                    .broadcast(w.raw_dim())
                    .expect("one value broadcasts to any shape");
                let (b, psf_rep) = plan.vis2dirty(ones, &mut ws)?;
                psf.add(p, b);
                rep.times.add(&psf_rep.times);
            }
            rep.times.add_plan(plan.plan_seconds());
            self.report.n_vis += rep.n_vis;
            self.report.weight_sum += wsum;
            self.report.grid.push(rep);
            self.wsum[p] += wsum;
        }
        Ok(())
    }

    /// Normalises and wraps the images (the PSF unless [`DirtyImager::without_psf`]):
    /// phase centre, the frequencies of the selected channels, their width and the
    /// observation start (JD UTC) go into the geometry.
    pub fn finish(
        self,
        phase_centre: RaDec,
        freqs_hz: &[f64],
        chan_width_hz: f64,
        date_obs_jd_utc: f64,
    ) -> Result<(Image, Option<Image>, ImagingReport), GridError> {
        let (cfg, channels) = (&self.cfg, &self.channels);
        if let Some(p) = self.wsum.iter().position(|&w| w <= 0.0) {
            let c = &self.planes[p];
            return Err(GridError::Empty(format!(
                "channels {}..{}: every sample is flagged, non-finite or has zero weight",
                channels.start + c.start,
                channels.start + c.end
            )));
        }
        let (ny, nx) = (cfg.npix_y, cfg.npix_x);
        let mut geometry = cfg.geometry(
            phase_centre,
            self.gcfg.cell_x_rad,
            freqs_hz,
            chan_width_hz,
            date_obs_jd_utc,
        );
        geometry.cell_y_rad = self.gcfg.cell_y_rad;
        let report = self.report;
        let p = &report.grid[0].params;
        let history = vec![
            format!("fxgrid {} dirty image", crate::VERSION),
            format!(
                "weighting {}, epsilon {:e}, precision {}, w-stacking {}, channels {}:{}{}",
                cfg.weighting_description(),
                cfg.epsilon,
                cfg.precision.name(),
                report.wstacking,
                channels.start,
                channels.end,
                if cfg.per_channel {
                    " per channel"
                } else {
                    " MFS"
                }
            ),
            format!(
                "kernel ES W={} beta={:.4} sigma={:.2} grid {}x{} w-planes {}",
                p.support, p.beta, p.sigma, p.nu, p.nv, p.n_planes
            ),
        ];
        let dirty = Image {
            geometry: geometry.clone(),
            data: self.dirty.normalised(&self.wsum, ny, nx),
            unit: "JY/BEAM".into(),
            history: history.clone(),
            beam: None,
        };
        let mut psf_history = history;
        psf_history[0] = format!("fxgrid {} point spread function", crate::VERSION);
        let psf = self.psf.map(|sums| Image {
            geometry,
            data: sums.normalised(&self.wsum, ny, nx),
            unit: "JY/BEAM".into(),
            history: psf_history,
            beam: None,
        });
        Ok((dirty, psf, report))
    }
}

/// Model visibilities of the Stokes I model image `model` (Jy per pixel, first plane, no
/// spectral dependence) on the samples of `vis` (cross-correlations; autocorrelations get
/// the total flux): XX = YY = I, XY = YX = 0. Returns the gridder report.
pub fn predict_into(
    model: &Image,
    vis: &mut Visibilities,
    epsilon: f64,
    precision: Precision,
    wstacking: Option<bool>,
) -> Result<GridReport, GridError> {
    let g = &model.geometry;
    let centre = vis.meta().phase_centre;
    if g.phase_centre.separation_rad(centre) > 1e-9 {
        return Err(GridError::InvalidConfig {
            field: "model phase centre",
            value: format!(
                "RA {:.6}° Dec {:.6}°",
                g.phase_centre.ra_rad.to_degrees(),
                g.phase_centre.dec_rad.to_degrees()
            ),
            expected: format!(
                "the visibilities' phase centre RA {:.6}° Dec {:.6}°",
                centre.ra_rad.to_degrees(),
                centre.dec_rad.to_degrees()
            ),
        });
    }
    // What the model says it is must be what prediction takes: one plane, Stokes I, in
    // Jy per pixel.
    let refuse = |field: &'static str, value: String, expected: &str| {
        Err(GridError::InvalidConfig {
            field,
            value,
            expected: expected.into(),
        })
    };
    if model.data.dim().0 != 1 {
        return refuse(
            "model planes",
            model.data.dim().0.to_string(),
            "one plane (a cube's frequency planes are not interpolated: cut the plane to predict)",
        );
    }
    if g.stokes != Stokes::I {
        return refuse(
            "model Stokes",
            format!("{:?}", g.stokes),
            "Stokes I (a polarisation product is not a sky brightness)",
        );
    }
    if !model.unit.eq_ignore_ascii_case("JY/PIXEL") {
        return refuse(
            "model BUNIT",
            model.unit.clone(),
            "JY/PIXEL (a model such as CLEAN's; an image in JY/BEAM is convolved with its beam)",
        );
    }
    let plane = model.data.slice(s![0, .., ..]).mapv(|x| x as f64);
    let all = 0..vis.n_chan();
    let d = stokes_i(vis, all)?;
    let wstack = wstacking.unwrap_or_else(|| needs_wstacking(&d, g.npix_x, g.npix_y, g.cell_x_rad));
    let cfg = GridConfig {
        npix_x: g.npix_x,
        npix_y: g.npix_y,
        cell_x_rad: g.cell_x_rad,
        cell_y_rad: g.cell_y_rad,
        epsilon,
        wstacking: wstack,
        simd: None,
    };
    let (pred, rep) = match precision {
        Precision::F32 => {
            let m = plane.mapv(|x| x as f32);
            let (v, r) = dirty2vis(&cfg, d.uvw_m.view(), &d.freqs_hz, m.view(), None, None)?;
            (v.mapv(|z| Complex::new(z.re as f64, z.im as f64)), r)
        }
        Precision::F64 => dirty2vis(&cfg, d.uvw_m.view(), &d.freqs_hz, plane.view(), None, None)?,
    };
    let total: f64 = plane.sum();
    let meta = vis.meta().clone();
    let cross: Vec<usize> = (0..vis.n_baselines())
        .filter(|&b| meta.baselines[b].0 != meta.baselines[b].1)
        .collect();
    let n_times = vis.n_times();
    let n_chan = vis.n_chan();
    let mut data = vis.data_mut();
    for t in 0..n_times {
        let mut i = 0;
        for b in 0..meta.baselines.len() {
            let is_auto = meta.baselines[b].0 == meta.baselines[b].1;
            for ch in 0..n_chan {
                let v = if is_auto {
                    Complex::new(total, 0.0)
                } else {
                    pred[[t * cross.len() + i, ch]]
                };
                for (p, pol) in meta.pols.iter().enumerate() {
                    data[[t, b, ch, p]] = match pol {
                        Pol::XX | Pol::YY => Complex::new(v.re as f32, v.im as f32),
                        _ => Complex::new(0.0, 0.0),
                    };
                }
            }
            if !is_auto {
                i += 1;
            }
        }
    }
    Ok(rep)
}
