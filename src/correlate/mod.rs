//! X-engine: cross-multiply channelised voltages of every input pair and integrate them
//! into visibilities.
//!
//! # Definition
//! Inputs are numbered `i = 2·a + pol` (docs/CONVENTIONS.md). For every channel and every pair
//! `p <= q` of inputs, an integration of `n` spectra gives
//!
//! ```text
//! V_pq = Σ_{t<n} conj(x_p(t)) · x_q(t)
//! ```
//!
//! autocorrelations included. An antenna pair `(a, b)`, `a <= b`, carries XX, XY, YX, YY =
//! `V_{2a,2b}`, `V_{2a,2b+1}`, `V_{2a+1,2b}`, `V_{2a+1,2b+1}` (for `a = b`, YX is the
//! conjugate of XY, the lower-triangle element).
//!
//! # Scale
//! Voltages from [`crate::sky::voltages`] are in √Jy, with `E|x|² = S` per sample for a
//! flat-spectrum source of `S` Jy. A filterbank channel with prototype `h` (Σh = 1) turns
//! white noise of power `S` per sample into `S·Σh²` per spectrum, so
//! `V_pq / (n · Σh²)` is in Jy and equals the predicted visibility at the channel centre
//! (for a source flat across the channel). [`CorrelatorConfig::scale`] is that factor;
//! spectra files store `Σh²` as `pfb_noise_gain`. Weights (UVH5 `nsamples`) are the number
//! of spectra accumulated.
//!
//! # Streaming and accuracy
//! Spectra arrive in blocks of any size ([`Correlator::push`]); they are buffered into
//! chunks of [`CHUNK`] spectra counted from the start of each integration, and the
//! kernels run per chunk, so results are bit-identical however the stream is split.
//! Float32 input accumulates in f32 within a chunk; chunk sums go to f32 accumulators, or
//! f64 with [`CorrelatorConfig::f64_accumulation`] for long integrations. Integer input is
//! exact within a chunk (i32): with 8-bit samples a pair sum is at most 2·128² = 2^15, so
//! 2^16 spectra fit; 16-bit samples are split into sub-chunks of
//! `⌊(2^31 − 1) / (2·m²)⌋` spectra for the chunk's largest magnitude `m` (int16 −32768 is
//! taken as −32767).

mod error;
mod kernels;
pub mod reference;

use num_complex::{Complex, Complex32};
use rayon::prelude::*;

pub use error::CorrelateError;
use kernels::{Tile, P, Q};

use crate::simd::{Backend, SimdLevel};

/// Spectra per kernel chunk.
pub const CHUNK: usize = 64;

/// Rows of the sums owned by one parallel task (a multiple of the tile rows that divides
/// the padded stride).
const ROWS: usize = Q;

/// A sample the correlator accepts.
pub trait XSample: Copy + Send + Sync + 'static {
    /// Whether the kernel is the integer one.
    const INTEGER: bool;
    /// As complex f32.
    fn to_c32(self) -> Complex32;
    /// As (re, im) i16 (integer types only).
    fn to_i16(self) -> (i16, i16);
}

impl XSample for Complex32 {
    const INTEGER: bool = false;
    fn to_c32(self) -> Complex32 {
        self
    }
    fn to_i16(self) -> (i16, i16) {
        (0, 0)
    }
}

impl XSample for Complex<i8> {
    const INTEGER: bool = true;
    fn to_c32(self) -> Complex32 {
        Complex32::new(self.re as f32, self.im as f32)
    }
    fn to_i16(self) -> (i16, i16) {
        (self.re as i16, self.im as i16)
    }
}

impl XSample for Complex<i16> {
    const INTEGER: bool = true;
    fn to_c32(self) -> Complex32 {
        Complex32::new(self.re as f32, self.im as f32)
    }
    fn to_i16(self) -> (i16, i16) {
        (self.re, self.im)
    }
}

/// Configuration of a correlator.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelatorConfig {
    /// Antennas (inputs = 2 × antennas).
    pub n_ant: usize,
    /// Channels per spectrum.
    pub n_chan: usize,
    /// Spectra per integration.
    pub int_spectra: usize,
    /// Accumulate chunk sums in f64.
    pub f64_accumulation: bool,
    /// Factor applied to the integrated sums (e.g. `1 / (n · Σh²)` for Jy; 1 for raw sums).
    pub scale: f64,
    /// Inputs known to be bad: every product involving one is flagged.
    pub flagged_inputs: Vec<usize>,
    /// Instruction set of the kernels; `None` takes `FXGRID_SIMD` or else the best the
    /// CPU supports. A level the CPU lacks is an error.
    pub simd: Option<SimdLevel>,
}

/// A correlator plan.
#[derive(Debug, Clone)]
pub struct Correlator {
    cfg: CorrelatorConfig,
    n_in: usize,
    stride: usize,
    backend: Backend,
    /// Tiles `(p0, q0)` touching the upper triangle.
    tiles: Vec<(usize, usize)>,
}

/// One finished integration: the upper triangle of every channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// Index of the integration in the stream (0, 1, …).
    pub index: u64,
    /// Spectra accumulated.
    pub n_spectra: usize,
    /// `V[c][k]` for channel `c` and packed pair index `k` of `(p, q)`, `p <= q`, in the
    /// row-by-row order of docs/CONVENTIONS.md, times [`CorrelatorConfig::scale`], rounded to
    /// complex f32 like all visibilities (docs/CONVENTIONS.md, "Units and precision") after accumulation in
    /// f32 or f64.
    pub products: Vec<Vec<Complex32>>,
}

/// Streaming state: the partial chunk, the running sums and the integration counter.
#[derive(Debug, Clone)]
pub struct CorrelatorState {
    /// Corner-turned chunk, per channel: f32 planes or packed integer pairs.
    buf_re: Vec<f32>,
    buf_im: Vec<f32>,
    buf_x: Vec<i32>,
    buf_xs: Vec<i32>,
    in_chunk: usize,
    /// Per channel, full `S × S` planes of the running sums.
    acc32_re: Vec<f32>,
    acc32_im: Vec<f32>,
    acc64_re: Vec<f64>,
    acc64_im: Vec<f64>,
    in_integration: usize,
    next_index: u64,
}

impl Correlator {
    /// Validate and plan.
    pub fn new(cfg: &CorrelatorConfig) -> Result<Self, CorrelateError> {
        let bad = |field: &'static str, value: String, expected: &'static str| {
            Err(CorrelateError::InvalidConfig {
                field,
                value,
                expected,
            })
        };
        if cfg.n_ant == 0 || cfg.n_ant > 32768 {
            return bad("n_ant", cfg.n_ant.to_string(), "1 to 32768 antennas");
        }
        if cfg.n_chan == 0 {
            return bad("n_chan", "0".into(), "at least 1 channel");
        }
        if cfg.int_spectra == 0 {
            return bad(
                "int_spectra",
                "0".into(),
                "at least 1 spectrum per integration",
            );
        }
        if !(cfg.scale.is_finite() && cfg.scale > 0.0) {
            return bad("scale", cfg.scale.to_string(), "a positive finite factor");
        }
        let n_in = 2 * cfg.n_ant;
        if let Some(&i) = cfg.flagged_inputs.iter().find(|&&i| i >= n_in) {
            return bad(
                "flagged_inputs",
                i.to_string(),
                "input indices below 2 × n_ant",
            );
        }
        let stride = n_in.div_ceil(Q) * Q;
        let acc_bytes = (cfg.n_chan as u128) * (stride as u128).pow(2) * 16;
        if acc_bytes > 16u128 << 30 {
            return bad(
                "n_ant × n_chan",
                format!("{} × {}", cfg.n_ant, cfg.n_chan),
                "accumulators below 16 GiB (correlate fewer channels at a time)",
            );
        }
        let mut tiles = Vec::new();
        for p0 in (0..n_in).step_by(P) {
            for q0 in (0..stride).step_by(Q) {
                if q0 + Q > p0 && q0 < n_in {
                    tiles.push((p0, q0));
                }
            }
        }
        Ok(Self {
            cfg: cfg.clone(),
            n_in,
            stride,
            backend: Backend::new(cfg.simd)?,
            tiles,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CorrelatorConfig {
        &self.cfg
    }

    /// Number of inputs (2 per antenna).
    pub fn n_inputs(&self) -> usize {
        self.n_in
    }

    /// The instruction set of the kernels in use.
    pub fn simd(&self) -> SimdLevel {
        self.backend.level()
    }

    /// A fresh state.
    pub fn new_state(&self) -> CorrelatorState {
        let (nc, s) = (self.cfg.n_chan, self.stride);
        let plane = nc * s * s;
        CorrelatorState {
            buf_re: Vec::new(),
            buf_im: Vec::new(),
            buf_x: Vec::new(),
            buf_xs: Vec::new(),
            in_chunk: 0,
            acc32_re: if self.cfg.f64_accumulation {
                Vec::new()
            } else {
                vec![0.0; plane]
            },
            acc32_im: if self.cfg.f64_accumulation {
                Vec::new()
            } else {
                vec![0.0; plane]
            },
            acc64_re: if self.cfg.f64_accumulation {
                vec![0.0; plane]
            } else {
                Vec::new()
            },
            acc64_im: if self.cfg.f64_accumulation {
                vec![0.0; plane]
            } else {
                Vec::new()
            },
            in_integration: 0,
            next_index: 0,
        }
    }

    /// Feed spectra `[spectrum][channel][input]` (a whole number of spectra); returns the
    /// integrations they complete.
    pub fn push<S: XSample>(
        &self,
        state: &mut CorrelatorState,
        spectra: &[S],
    ) -> Result<Vec<Integration>, CorrelateError> {
        let row = self.cfg.n_chan * self.n_in;
        if !spectra.len().is_multiple_of(row) {
            return Err(CorrelateError::Length {
                what: "spectra block (values)",
                expected: format!("a multiple of n_chan × n_inputs = {row}"),
                found: spectra.len(),
            });
        }
        let (nc, s) = (self.cfg.n_chan, self.stride);
        let chunk_len = nc * CHUNK * s;
        if S::INTEGER {
            state.buf_x.resize(chunk_len, 0);
            state.buf_xs.resize(chunk_len, 0);
        } else {
            state.buf_re.resize(chunk_len, 0.0);
            state.buf_im.resize(chunk_len, 0.0);
        }
        let mut done = Vec::new();
        for spec in spectra.chunks_exact(row) {
            // Corner turn of one spectrum into slot `in_chunk` of every channel's chunk.
            let t = state.in_chunk;
            let n_in = self.n_in;
            if S::INTEGER {
                state
                    .buf_x
                    .chunks_exact_mut(CHUNK * s)
                    .zip(state.buf_xs.chunks_exact_mut(CHUNK * s))
                    .zip(spec.chunks_exact(n_in))
                    .for_each(|((x, xs), vals)| {
                        for ((w, ws), v) in x[t * s..t * s + n_in]
                            .iter_mut()
                            .zip(&mut xs[t * s..t * s + n_in])
                            .zip(vals)
                        {
                            let (re, im) = v.to_i16();
                            (*w, *ws) = kernels::pack_pair(re, im);
                        }
                    });
            } else {
                state
                    .buf_re
                    .chunks_exact_mut(CHUNK * s)
                    .zip(state.buf_im.chunks_exact_mut(CHUNK * s))
                    .zip(spec.chunks_exact(n_in))
                    .for_each(|((re, im), vals)| {
                        for ((r, i), v) in re[t * s..t * s + n_in]
                            .iter_mut()
                            .zip(&mut im[t * s..t * s + n_in])
                            .zip(vals)
                        {
                            let z = v.to_c32();
                            (*r, *i) = (z.re, z.im);
                        }
                    });
            }
            state.in_chunk += 1;
            state.in_integration += 1;
            let end_of_integration = state.in_integration == self.cfg.int_spectra;
            if state.in_chunk == CHUNK || end_of_integration {
                self.run_chunk::<S>(state);
            }
            if end_of_integration {
                done.push(self.finish(state));
            }
        }
        Ok(done)
    }

    /// Integrate the buffered chunk into the running sums and clear it.
    fn run_chunk<S: XSample>(&self, state: &mut CorrelatorState) {
        let (k, s, n_in) = (state.in_chunk, self.stride, self.n_in);
        if k == 0 {
            return;
        }
        let per_chan = CHUNK * s;
        let backend = self.backend;
        let tiles = &self.tiles;
        let CorrelatorState {
            buf_re,
            buf_im,
            buf_x,
            buf_xs,
            acc32_re,
            acc32_im,
            acc64_re,
            acc64_im,
            ..
        } = state;
        let (buf_re, buf_im, buf_x, buf_xs) = (&*buf_re, &*buf_im, &*buf_x, &*buf_xs);
        // Bound on the integer sub-chunk per channel: the largest magnitude in its chunk.
        let sub: Vec<usize> = (0..self.cfg.n_chan)
            .map(|c| {
                if !S::INTEGER {
                    return k;
                }
                let m = buf_x[c * per_chan..c * per_chan + k * s]
                    .iter()
                    .map(|&w| {
                        (w as i16)
                            .unsigned_abs()
                            .max(((w >> 16) as i16).unsigned_abs()) as i64
                    })
                    .max()
                    .unwrap_or(0)
                    .max(1);
                ((i32::MAX as i64) / (2 * m * m)).clamp(1, k as i64) as usize
            })
            .collect();
        // One task per channel and block of ROWS rows: it owns those rows of the sums.
        let block = ROWS * s;
        let ctx = ChunkCtx {
            tiles,
            buf_re,
            buf_im,
            buf_x,
            buf_xs,
            k,
            s,
            per_chan,
            n_in,
            backend,
            sub: &sub,
        };
        // The first chunk of an integration overwrites the sums, so they never need zeroing.
        let first = state.in_integration == k;
        if self.cfg.f64_accumulation {
            accumulate::<S, f64>(&ctx, acc64_re, acc64_im, block, first);
        } else {
            accumulate::<S, f32>(&ctx, acc32_re, acc32_im, block, first);
        }
        // Kernels read only the first `k` time rows, and the padding inputs beyond `n_in`
        // are never written (zero since allocation), so the chunk needs no clearing.
        state.in_chunk = 0;
    }

    /// Extract the finished integration and reset the sums.
    fn finish(&self, state: &mut CorrelatorState) -> Integration {
        let (s, n_in) = (self.stride, self.n_in);
        let plane = s * s;
        let scale = self.cfg.scale;
        let f64_acc = self.cfg.f64_accumulation;
        let (a32r, a32i, a64r, a64i) = (
            &state.acc32_re,
            &state.acc32_im,
            &state.acc64_re,
            &state.acc64_im,
        );
        let products = (0..self.cfg.n_chan)
            .into_par_iter()
            .map(|c| {
                let mut v = Vec::with_capacity(n_in * (n_in + 1) / 2);
                for p in 0..n_in {
                    let row = c * plane + p * s;
                    let r = row + p..row + n_in;
                    if f64_acc {
                        v.extend(a64r[r.clone()].iter().zip(&a64i[r]).map(|(&re, &im)| {
                            Complex32::new((re * scale) as f32, (im * scale) as f32)
                        }));
                    } else {
                        v.extend(a32r[r.clone()].iter().zip(&a32i[r]).map(|(&re, &im)| {
                            Complex32::new((re as f64 * scale) as f32, (im as f64 * scale) as f32)
                        }));
                    }
                    // Autocorrelations are real and non-negative in exact arithmetic; drop
                    // the rounding residue of the imaginary part.
                    let auto = v.len() - (n_in - p);
                    v[auto].im = 0.0;
                }
                v
            })
            .collect();
        let out = Integration {
            index: state.next_index,
            n_spectra: state.in_integration,
            products,
        };
        state.in_integration = 0;
        state.next_index += 1;
        out
    }

    /// Products of antenna pair `(a, b)`, `a <= b`, in the library order XX, XY, YX, YY,
    /// from one channel of an integration.
    pub fn antenna_pair(&self, products: &[Complex32], a: usize, b: usize) -> [Complex32; 4] {
        let get = |p: usize, q: usize| {
            if p <= q {
                products[packed_index(self.n_in, p, q)]
            } else {
                products[packed_index(self.n_in, q, p)].conj()
            }
        };
        [
            get(2 * a, 2 * b),
            get(2 * a, 2 * b + 1),
            get(2 * a + 1, 2 * b),
            get(2 * a + 1, 2 * b + 1),
        ]
    }

    /// Whether a product of antenna pair `(a, b)` and polarisation `pol` (0..4) involves a
    /// flagged input.
    pub fn flagged(&self, a: usize, b: usize, pol: usize) -> bool {
        let (i, j) = (2 * a + pol / 2, 2 * b + pol % 2);
        self.cfg.flagged_inputs.contains(&i) || self.cfg.flagged_inputs.contains(&j)
    }
}

/// Where and when a stream of spectra was observed: what [`Correlator::visibilities`]
/// needs to label integrations.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamGeometry {
    /// The array (its antennas are the correlator's, in order).
    pub layout: crate::telescope::ArrayLayout,
    /// Delay-tracking centre (ICRS).
    pub phase_centre: crate::telescope::RaDec,
    /// JD (UTC) of spectrum 0 (the centre of its filter window).
    pub first_spectrum_jd_utc: f64,
    /// Spectra per second.
    pub spectrum_rate_hz: f64,
    /// Sky frequency of channel 0 (Hz).
    pub freq_start_hz: f64,
    /// Channel spacing (Hz).
    pub chan_width_hz: f64,
    /// Units of the scaled sums.
    pub units: crate::VisUnits,
    /// Provenance.
    pub history: String,
}

impl Correlator {
    /// Visibilities of consecutive integrations (indices `first.index ..`): baselines of
    /// every antenna pair `a <= b` in docs/CONVENTIONS.md order, XX, XY, YX, YY, uvw at the centre of
    /// each integration, weights = spectra accumulated, flags from the flagged inputs.
    pub fn visibilities(
        &self,
        geo: &StreamGeometry,
        integrations: &[Integration],
    ) -> Result<crate::Visibilities, CorrelateError> {
        let n_ant = self.cfg.n_ant;
        let bad = |what: &'static str, expected: String, found: usize| {
            Err(CorrelateError::Length {
                what,
                expected,
                found,
            })
        };
        if geo.layout.n_ant() != n_ant {
            return bad(
                "antennas in the layout",
                n_ant.to_string(),
                geo.layout.n_ant(),
            );
        }
        let Some(first) = integrations.first() else {
            return bad("integrations", "at least one".into(), 0);
        };
        for (i, it) in integrations.iter().enumerate() {
            if it.index != first.index + i as u64 || it.n_spectra != self.cfg.int_spectra {
                return bad(
                    "integration (consecutive and complete)",
                    format!(
                        "index {} of {} spectra",
                        first.index + i as u64,
                        self.cfg.int_spectra
                    ),
                    it.index as usize,
                );
            }
        }
        let n = self.cfg.int_spectra as f64;
        let int_time_s = n / geo.spectrum_rate_hz;
        // Integration i spans spectra i·n .. (i+1)·n, whose time stamps are window centres;
        // it starts half a spectrum before the first of them. The observation starts at
        // integration 0, so that integrations made in any batches get the same times.
        let start = geo.first_spectrum_jd_utc
            - 0.5 / geo.spectrum_rate_hz / crate::telescope::SECONDS_PER_DAY;
        let first_index = usize::try_from(first.index).unwrap_or(usize::MAX);
        let times = first_index..first_index.saturating_add(integrations.len());
        let obs = crate::telescope::Observation {
            phase_centre: geo.phase_centre,
            start_jd_utc: start,
            n_times: times.end,
            int_time_s,
            freq_start_hz: geo.freq_start_hz,
            chan_width_hz: geo.chan_width_hz,
            n_chan: self.cfg.n_chan,
        };
        let baselines = crate::telescope::all_baselines(n_ant);
        let (meta, uvw) = crate::VisMeta::for_observation_times(
            &geo.layout,
            &obs,
            times,
            baselines.clone(),
            geo.units,
            geo.history.clone(),
        )
        .map_err(|e| CorrelateError::InvalidConfig {
            field: "stream geometry",
            value: e.to_string(),
            expected: "a valid observation",
        })?;
        let (nt, nb, nc) = (integrations.len(), baselines.len(), self.cfg.n_chan);
        let mut data = ndarray::Array4::<Complex32>::zeros((nt, nb, nc, 4));
        let mut flags = ndarray::Array4::<bool>::from_elem((nt, nb, nc, 4), false);
        for (t, it) in integrations.iter().enumerate() {
            for (b, &(a1, a2)) in baselines.iter().enumerate() {
                for c in 0..nc {
                    let v = self.antenna_pair(&it.products[c], a1, a2);
                    for (pol, z) in v.iter().enumerate() {
                        data[[t, b, c, pol]] = *z;
                        flags[[t, b, c, pol]] = self.flagged(a1, a2, pol);
                    }
                }
            }
        }
        let weights =
            ndarray::Array4::<f32>::from_elem((nt, nb, nc, 4), self.cfg.int_spectra as f32);
        crate::Visibilities::new(meta, data, weights, flags, uvw).map_err(|e| {
            CorrelateError::InvalidConfig {
                field: "visibilities",
                value: e.to_string(),
                expected: "consistent shapes",
            }
        })
    }
}

/// Run every task of a chunk (parallel over channels and blocks of `ROWS` rows) and add
/// its tile sums into the running sums `acc_re`, `acc_im` (`[channel][row][column]`).
fn accumulate<S: XSample, A>(
    ctx: &ChunkCtx<'_>,
    acc_re: &mut [A],
    acc_im: &mut [A],
    block: usize,
    overwrite: bool,
) where
    A: Copy + Send + From<f32> + std::ops::AddAssign,
{
    let blocks_per_chan = ctx.s / ROWS;
    acc_re
        .par_chunks_mut(block)
        .zip(acc_im.par_chunks_mut(block))
        .enumerate()
        .for_each(|(idx, (are, aim))| {
            let (c, r0) = (idx / blocks_per_chan, (idx % blocks_per_chan) * ROWS);
            ctx.tile_sums::<S, _>(c, r0, |at, re, im, first_part| {
                let (dr, di) = (&mut are[at..at + Q], &mut aim[at..at + Q]);
                if overwrite && first_part {
                    // Every (p, q <= n_in) read at the end lies in some tile: written here.
                    for ((d, e), (&v, &w)) in
                        dr.iter_mut().zip(di.iter_mut()).zip(re.iter().zip(im))
                    {
                        (*d, *e) = (A::from(v), A::from(w));
                    }
                } else {
                    for ((d, e), (&v, &w)) in
                        dr.iter_mut().zip(di.iter_mut()).zip(re.iter().zip(im))
                    {
                        *d += A::from(v);
                        *e += A::from(w);
                    }
                }
            });
        });
}

/// What the tasks of one chunk share.
struct ChunkCtx<'a> {
    tiles: &'a [(usize, usize)],
    buf_re: &'a [f32],
    buf_im: &'a [f32],
    buf_x: &'a [i32],
    buf_xs: &'a [i32],
    k: usize,
    s: usize,
    per_chan: usize,
    n_in: usize,
    backend: Backend,
    sub: &'a [usize],
}

impl ChunkCtx<'_> {
    /// Run the tiles of channel `c` whose rows are in `r0 .. r0 + ROWS`, passing each tile
    /// row's sums to `add(offset in the block, re, im, first part of the chunk)`.
    #[inline]
    fn tile_sums<S: XSample, F: FnMut(usize, &[f32], &[f32], bool)>(
        &self,
        c: usize,
        r0: usize,
        mut add: F,
    ) {
        let (k, s) = (self.k, self.s);
        let mut o_re = [0.0f32; P * Q];
        let mut o_im = [0.0f32; P * Q];
        let mut i_re = [0i32; P * Q];
        let mut i_im = [0i32; P * Q];
        for &(p0, q0) in self.tiles.iter().filter(|t| t.0 >= r0 && t.0 < r0 + ROWS) {
            let mut t0 = 0;
            while t0 < k {
                let kk = self.sub[c].min(k - t0);
                let tile = Tile { k: kk, s, p0, q0 };
                let off = c * self.per_chan + t0 * s;
                if S::INTEGER {
                    kernels::tile_i16(
                        self.backend,
                        &self.buf_x[off..],
                        &self.buf_xs[off..],
                        tile,
                        &mut i_re,
                        &mut i_im,
                    );
                    for (o, v) in o_re.iter_mut().zip(&i_re) {
                        *o = *v as f32;
                    }
                    for (o, v) in o_im.iter_mut().zip(&i_im) {
                        *o = *v as f32;
                    }
                } else {
                    kernels::tile_f32(
                        self.backend,
                        &self.buf_re[off..],
                        &self.buf_im[off..],
                        tile,
                        &mut o_re,
                        &mut o_im,
                    );
                }
                for a in 0..P.min(self.n_in - p0) {
                    add(
                        (p0 + a - r0) * s + q0,
                        &o_re[a * Q..(a + 1) * Q],
                        &o_im[a * Q..(a + 1) * Q],
                        t0 == 0,
                    );
                }
                t0 += kk;
            }
        }
    }
}

/// Index of `(p, q)`, `p <= q < n`, in the packed upper triangle (row by row): rows
/// `r < p` hold `n − r` products each.
pub fn packed_index(n: usize, p: usize, q: usize) -> usize {
    debug_assert!(p <= q && q < n);
    p * n - p * p.saturating_sub(1) / 2 + (q - p)
}
