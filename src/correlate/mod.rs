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
//! chunks of [`Correlator::chunk_len`] spectra counted from the start of each integration, and the
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

/// The longest kernel chunk, in spectra. A correlator's chunk
/// ([`Correlator::chunk_len`]) is shorter when its buffer would outgrow the running sums
/// (few inputs, many channels) or the integration is shorter.
pub const CHUNK: usize = 256;

/// A chunk buffer may always take this much, however small the running sums.
const CHUNK_BYTES_FLOOR: usize = 64 << 20;

/// Rows of the sums owned by one parallel task of the integer and non-AVX-512 kernels (a
/// panel); the AVX-512 float kernel's tasks take [`kernels::ROWS_F`].
const ROWS: usize = Q;

/// A sample the correlator accepts.
pub trait XSample: Copy + Send + Sync + 'static {
    /// Whether the kernel is the integer one.
    const INTEGER: bool;
    /// Whether every sample fits 8 bits (the 8-bit integer kernel applies).
    const BYTES: bool = false;
    /// As complex f32.
    fn to_c32(self) -> Complex32;
    /// As (re, im) i16 (integer types only).
    fn to_i16(self) -> (i16, i16);
    /// As (re, im) i8 (types with [`XSample::BYTES`] only).
    fn to_i8(self) -> (i8, i8) {
        (0, 0)
    }
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
    const BYTES: bool = true;
    fn to_c32(self) -> Complex32 {
        Complex32::new(self.re as f32, self.im as f32)
    }
    fn to_i16(self) -> (i16, i16) {
        (self.re as i16, self.im as i16)
    }
    fn to_i8(self) -> (i8, i8) {
        (self.re, self.im)
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
    /// Spectra per chunk (even, at most [`CHUNK`]).
    chunk: usize,
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
    /// Corner-turned chunk, per channel, in the kernels' panel layout.
    chunk: Chunk,
    in_chunk: usize,
    /// Per channel, full `S × S` planes of the running sums.
    acc32_re: Vec<f32>,
    acc32_im: Vec<f32>,
    acc64_re: Vec<f64>,
    acc64_im: Vec<f64>,
    in_integration: usize,
    next_index: u64,
    /// Output vectors handed back by [`Correlator::recycle`], reused by the next
    /// integrations.
    spare: Vec<Vec<Complex32>>,
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
        // Long chunks amortise writing the tile sums (a chunk of 64 spectra lost 20 % at
        // 1024 inputs); the buffer (16 bytes per spectrum and input) is kept below the
        // running sums' size or the floor.
        let sums_bytes = cfg.n_chan * stride * stride * 8;
        let limit = sums_bytes.max(CHUNK_BYTES_FLOOR);
        let mut chunk = CHUNK;
        while chunk > 2 && cfg.n_chan * chunk * stride * 16 > limit {
            chunk /= 2;
        }
        let chunk = chunk.min(cfg.int_spectra.next_multiple_of(2));
        Ok(Self {
            cfg: cfg.clone(),
            n_in,
            stride,
            backend: Backend::new(cfg.simd)?,
            tiles,
            chunk,
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

    /// Spectra per kernel chunk: chunks are counted from the start of each integration,
    /// so results do not depend on how the stream is split.
    pub fn chunk_len(&self) -> usize {
        self.chunk
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
            chunk: Chunk::default(),
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
            spare: Vec::new(),
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
        let mode = self.mode::<S>();
        self.prepare_chunk(&mut state.chunk, mode);
        let mut done = Vec::new();
        let mut rest = spectra;
        while !rest.is_empty() {
            // As many spectra as fit in the chunk and the integration: at least one.
            let room =
                (self.chunk - state.in_chunk).min(self.cfg.int_spectra - state.in_integration);
            let (now, later) = rest.split_at(room.min(rest.len() / row) * row);
            self.corner_turn(&mut state.chunk, mode, state.in_chunk, now);
            let m = now.len() / row;
            state.in_chunk += m;
            state.in_integration += m;
            if state.in_integration == self.cfg.int_spectra {
                done.push(self.finish(state, mode));
            } else if state.in_chunk == self.chunk {
                self.run_chunk(state, mode, None);
            }
            rest = later;
        }
        Ok(done)
    }

    /// Which kernel the samples `S` take on this backend.
    fn mode<S: XSample>(&self) -> Mode {
        if !S::INTEGER {
            Mode::Float
        } else if S::BYTES && (self.backend.vnni() || self.backend.level() == SimdLevel::Portable) {
            // The portable backend runs the byte layout too, so that every machine tests it.
            Mode::Bytes
        } else {
            Mode::Pairs
        }
    }

    /// Rows of the sums owned by one parallel task in `mode` (the last of a channel may
    /// have fewer).
    fn task_rows(&self, mode: Mode) -> usize {
        match (mode, self.backend.level()) {
            (Mode::Float, SimdLevel::Avx512) => kernels::ROWS_F,
            _ => ROWS,
        }
    }

    /// Values (or words) of one channel's chunk in `mode`.
    fn per_chan(&self, mode: Mode) -> usize {
        match mode {
            Mode::Bytes => self.chunk / 2 * self.stride,
            _ => self.chunk * self.stride,
        }
    }

    /// Size the chunk's planes for `mode` (allocated once; padding inputs stay zero).
    fn prepare_chunk(&self, chunk: &mut Chunk, mode: Mode) {
        let len = self.cfg.n_chan * self.per_chan(mode);
        match mode {
            Mode::Float => chunk.f.iter_mut().for_each(|v| v.resize(len)),
            Mode::Pairs => chunk.w.iter_mut().for_each(|v| v.resize(len)),
            Mode::Bytes => {
                chunk.b.iter_mut().for_each(|v| v.resize(len));
                let sums = self.cfg.n_chan * self.stride;
                chunk.col_sums.iter_mut().for_each(|v| v.resize(sums, 0));
            }
        }
    }

    /// Write spectra `[spectrum][channel][input]` into time slots `t0 ..` of every
    /// channel's chunk (parallel over channels).
    fn corner_turn<S: XSample>(&self, chunk: &mut Chunk, mode: Mode, t0: usize, spectra: &[S]) {
        let (n_in, per_chan) = (self.n_in, self.per_chan(mode));
        let row = self.cfg.n_chan * n_in;
        // Channel c's samples of each spectrum, with the time slot they go to.
        let samples = move |c: usize| {
            spectra
                .chunks_exact(row)
                .enumerate()
                .map(move |(dt, spec)| (t0 + dt, &spec[c * n_in..(c + 1) * n_in]))
        };
        match mode {
            Mode::Float => {
                let [re, im, sm] = &mut chunk.f;
                re.par_chunks_mut(per_chan)
                    .zip(im.par_chunks_mut(per_chan))
                    .zip(sm.par_chunks_mut(per_chan))
                    .enumerate()
                    .for_each(|(c, ((re, im), sm))| {
                        for (t, vals) in samples(c) {
                            let (re, im, sm) =
                                (&mut re[t * Q..], &mut im[t * Q..], &mut sm[t * Q..]);
                            kernels::split(self.backend, vals, self.chunk * Q, re, im, sm);
                        }
                    });
            }
            Mode::Pairs => {
                let [x, xs] = &mut chunk.w;
                x.par_chunks_mut(per_chan)
                    .zip(xs.par_chunks_mut(per_chan))
                    .enumerate()
                    .for_each(|(c, (x, xs))| {
                        for (t, vals) in samples(c) {
                            for (j, panel) in vals.chunks(Q).enumerate() {
                                let o = j * self.chunk * Q + t * Q;
                                for (a, v) in panel.iter().enumerate() {
                                    let (re, im) = v.to_i16();
                                    (x[o + a], xs[o + a]) = kernels::pack_pair(re, im);
                                }
                            }
                        }
                    });
            }
            Mode::Bytes => {
                let [rr, ri, cr, ci] = &mut chunk.b;
                let [sum_re, sum_im] = &mut chunk.col_sums;
                rr.par_chunks_mut(per_chan)
                    .zip(ri.par_chunks_mut(per_chan))
                    .zip(cr.par_chunks_mut(per_chan))
                    .zip(ci.par_chunks_mut(per_chan))
                    .zip(sum_re.par_chunks_mut(self.stride))
                    .zip(sum_im.par_chunks_mut(self.stride))
                    .enumerate()
                    .for_each(|(c, (((((rr, ri), cr), ci), sum_re), sum_im))| {
                        let mut batch = samples(c);
                        while let Some((t, vals)) = batch.next() {
                            if t == 0 {
                                sum_re.fill(0);
                                sum_im.fill(0);
                            }
                            // Two steps fill whole words; a lone step (a batch that starts
                            // or ends between the two steps of a word) fills its half.
                            let pair = if t % 2 == 0 { batch.next() } else { None };
                            for (j, panel) in vals.chunks(Q).enumerate() {
                                let n = panel.len();
                                let w0 = j * (self.chunk / 2) * Q + (t / 2) * Q;
                                let sums = j * Q..j * Q + n;
                                let (sr, si) = (&mut sum_re[sums.clone()], &mut sum_im[sums]);
                                if let Some((_, next)) = pair {
                                    let next = &next[j * Q..j * Q + n];
                                    let words = w0..w0 + n;
                                    let (rr, ri) = (&mut rr[words.clone()], &mut ri[words.clone()]);
                                    let (cr, ci) = (&mut cr[words.clone()], &mut ci[words]);
                                    for a in 0..n {
                                        let (re0, im0) = panel[a].to_i8();
                                        let (re1, im1) = next[a].to_i8();
                                        let [h0, h1] = [(re0, im0), (re1, im1)]
                                            .map(|(re, im)| kernels::pack_bytes(re, im));
                                        rr[a] = kernels::word(h0[0], h1[0]);
                                        ri[a] = kernels::word(h0[1], h1[1]);
                                        cr[a] = kernels::word(h0[2], h1[2]);
                                        ci[a] = kernels::word(h0[3], h1[3]);
                                        let (c0, c1) = (
                                            kernels::offset_sums(re0, im0),
                                            kernels::offset_sums(re1, im1),
                                        );
                                        sr[a] += c0.0 + c1.0;
                                        si[a] += c0.1 + c1.1;
                                    }
                                } else {
                                    // Half `t % 2` of each word.
                                    let o = 2 * w0 + t % 2;
                                    let [hr, hi, hc, hd] = [&mut *rr, &mut *ri, &mut *cr, &mut *ci]
                                        .map(kernels::halves);
                                    for (a, v) in panel.iter().enumerate() {
                                        let (re, im) = v.to_i8();
                                        let at = o + 2 * a;
                                        [hr[at], hi[at], hc[at], hd[at]] =
                                            kernels::pack_bytes(re, im);
                                        let (add_re, add_im) = kernels::offset_sums(re, im);
                                        sr[a] += add_re;
                                        si[a] += add_im;
                                    }
                                }
                            }
                        }
                    });
            }
        }
    }

    /// Integrate the buffered chunk into the running sums and clear it; for the last chunk
    /// of an integration, `products` (per channel, the packed upper triangle) receives the
    /// scaled totals instead, straight from the tiles.
    fn run_chunk(
        &self,
        state: &mut CorrelatorState,
        mode: Mode,
        products: Option<&mut [Vec<Complex32>]>,
    ) {
        let (k, s, n_in) = (state.in_chunk, self.stride, self.n_in);
        if k == 0 {
            return;
        }
        let per_chan = self.per_chan(mode);
        let backend = self.backend;
        let tiles = &self.tiles;
        let chunk = &mut state.chunk;
        if mode == Mode::Bytes {
            self.zero_lone_halves(chunk, k);
        }
        let chunk = &state.chunk;
        // Bound on the 16-bit sub-chunk per channel: the largest magnitude among its
        // chunk's `k` steps (never stale slots, so the split depends on the data only).
        let sub: Vec<usize> = (0..self.cfg.n_chan)
            .map(|c| {
                if mode != Mode::Pairs {
                    return k;
                }
                let m = (0..s / Q)
                    .flat_map(|j| {
                        let o = c * per_chan + j * self.chunk * Q;
                        &chunk.w[0][o..o + k * Q]
                    })
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
        // One task per channel and block of `rows` rows: it owns those rows of the sums.
        let rows = self.task_rows(mode);
        let ctx = ChunkCtx {
            tiles,
            chunk,
            len: self.chunk,
            mode,
            k,
            s,
            per_chan,
            n_in,
            backend,
            sub: &sub,
            rows,
        };
        // The first chunk of an integration overwrites the sums, so they never need zeroing.
        let first = state.in_integration == k;
        // The output rows each task owns: rows r0 .. r0 + rows of its channel.
        let out_blocks: Option<Vec<&mut [Complex32]>> = products.map(|products| {
            let mut blocks = Vec::with_capacity(self.cfg.n_chan * n_in.div_ceil(rows));
            for v in products.iter_mut() {
                let mut rest = &mut v[..];
                for r0 in (0..n_in).step_by(rows) {
                    let len: usize = (r0..(r0 + rows).min(n_in)).map(|p| n_in - p).sum();
                    let (b, r) = rest.split_at_mut(len);
                    blocks.push(b);
                    rest = r;
                }
            }
            blocks
        });
        let scale = self.cfg.scale;
        if self.cfg.f64_accumulation {
            let acc = (&mut state.acc64_re[..], &mut state.acc64_im[..]);
            accumulate(&ctx, acc, first, out_blocks, scale);
        } else {
            let acc = (&mut state.acc32_re[..], &mut state.acc32_im[..]);
            accumulate(&ctx, acc, first, out_blocks, scale);
        }
        // Kernels read only the first `k` steps, and the padding inputs beyond `n_in` are
        // never written (zero since allocation), so the chunk needs no clearing.
        state.in_chunk = 0;
    }

    /// Before an 8-bit chunk of `k` steps runs: when `k` is odd, zero the unused second
    /// half of the last column words (a stale sample would otherwise count).
    fn zero_lone_halves(&self, chunk: &mut Chunk, k: usize) {
        if k.is_multiple_of(2) {
            return;
        }
        let (s, per_chan) = (self.stride, self.per_chan(Mode::Bytes));
        let last = k / 2;
        let [_, _, cr, ci] = &mut chunk.b;
        cr.par_chunks_mut(per_chan)
            .zip(ci.par_chunks_mut(per_chan))
            .for_each(|(cr, ci)| {
                let (cr, ci) = (kernels::halves(cr), kernels::halves(ci));
                for j in 0..s / Q {
                    let w = j * (self.chunk / 2) * Q + last * Q;
                    for a in 0..Q {
                        (cr[2 * (w + a) + 1], ci[2 * (w + a) + 1]) = (0, 0);
                    }
                }
            });
    }

    /// Run the last chunk of an integration into fresh products and start the next one.
    fn finish(&self, state: &mut CorrelatorState, mode: Mode) -> Integration {
        let len = self.n_in * (self.n_in + 1) / 2;
        // Recycled vectors need no clearing: the last chunk writes every product.
        let recycled = state.spare.len().min(self.cfg.n_chan);
        let mut products: Vec<Vec<Complex32>> =
            state.spare.drain(state.spare.len() - recycled..).collect();
        products.par_extend(
            (recycled..self.cfg.n_chan)
                .into_par_iter()
                .map(|_| vec![Complex32::default(); len]),
        );
        self.run_chunk(state, mode, Some(&mut products));
        let out = Integration {
            index: state.next_index,
            n_spectra: state.in_integration,
            products,
        };
        state.in_integration = 0;
        state.next_index += 1;
        out
    }

    /// Hand a consumed integration's vectors back to `state`, so that the next
    /// integrations reuse them instead of allocating (and faulting in) fresh memory: worth
    /// about a tenth of the time of a many-input correlator. At most one integration's
    /// worth is kept; vectors of another size are dropped.
    pub fn recycle(&self, state: &mut CorrelatorState, integration: Integration) {
        let len = self.n_in * (self.n_in + 1) / 2;
        for v in integration.products {
            if v.len() == len && state.spare.len() < self.cfg.n_chan {
                state.spare.push(v);
            }
        }
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

/// Run every task of a chunk (parallel over channels and blocks of `ctx.rows` rows) and
/// add its tile sums into the running sums `acc = (re, im)` (`[channel][row][column]`),
/// or, for the last chunk of an integration (`outs`: each task's block of packed output
/// rows), write `(sums + tiles) · scale` to the output.
fn accumulate<A: kernels::Widen>(
    ctx: &ChunkCtx<'_>,
    (acc_re, acc_im): (&mut [A], &mut [A]),
    overwrite: bool,
    outs: Option<Vec<&mut [Complex32]>>,
    scale: f64,
) {
    let (s, n_in, rows) = (ctx.s, ctx.n_in, ctx.rows);
    // Each task's rows of the sums: (channel, first row, re, im).
    let mut tasks = Vec::new();
    for (c, (mut re, mut im)) in acc_re
        .chunks_mut(s * s)
        .zip(acc_im.chunks_mut(s * s))
        .enumerate()
    {
        for r0 in (0..n_in).step_by(rows) {
            let len = rows.min(n_in - r0) * s;
            let (task_re, rest_re) = std::mem::take(&mut re).split_at_mut(len);
            let (task_im, rest_im) = std::mem::take(&mut im).split_at_mut(len);
            tasks.push((c, r0, task_re, task_im));
            (re, im) = (rest_re, rest_im);
        }
    }
    let mut outs: Vec<Option<&mut [Complex32]>> =
        outs.map_or_else(Vec::new, |o| o.into_iter().map(Some).collect());
    outs.resize_with(tasks.len(), || None);
    tasks
        .into_par_iter()
        .zip(outs.par_iter_mut())
        .for_each(|((c, r0, are, aim), out)| {
            // Where row p starts in the task's block of packed output rows.
            // Rows r = r0 .. p hold n_in − r products each, (p − r0)·(2·n_in + 1 − r0 − p) / 2
            // in all.
            let row_start = |p: usize| -> usize { (p - r0) * (2 * n_in + 1 - r0 - p) / 2 };
            ctx.tile_sums(c, r0, |p, q0, re, im, first_part, last_part| {
                let at = (p - r0) * s + q0;
                // Every (p, q <= n_in) read at the end lies in some tile: the first chunk
                // of an integration writes all of them.
                let fresh = overwrite && first_part;
                match out.as_deref_mut() {
                    Some(out) if last_part => {
                        // Columns q0 + j with p <= q < n_in, at their packed places.
                        let j0 = p.saturating_sub(q0);
                        let j1 = (n_in - q0).min(Q);
                        if j0 >= j1 {
                            return;
                        }
                        let o = row_start(p) + (q0 + j0 - p);
                        let dst = &mut out[o..o + (j1 - j0)];
                        let sums =
                            (!fresh).then(|| (&are[at + j0..at + j1], &aim[at + j0..at + j1]));
                        kernels::finish_row(
                            ctx.backend,
                            sums,
                            &re[j0..j1],
                            &im[j0..j1],
                            scale,
                            dst,
                        );
                        if q0 <= p {
                            // Autocorrelations are real and non-negative in exact
                            // arithmetic: drop the rounding residue of the imaginary part.
                            dst[0].im = 0.0;
                        }
                        // The row's part of the next panel is written after that panel's
                        // tiles have run: fetch it for writing meanwhile (the output is
                        // far larger than the caches, and a task's rows are as many
                        // separate streams).
                        let (q1, j1) = (q0 + Q, (n_in - q0).min(2 * Q));
                        if q1 < n_in {
                            let o = row_start(p) + (q1.max(p) - p);
                            let len = j1 - Q - p.saturating_sub(q1);
                            crate::util::prefetch_write(out.as_ptr().wrapping_add(o), len * 8);
                        }
                    }
                    _ => {
                        kernels::add_rows(ctx.backend, &mut are[at..at + Q], re, fresh);
                        kernels::add_rows(ctx.backend, &mut aim[at..at + Q], im, fresh);
                        if q0 + Q < n_in {
                            for a in [&*are, &*aim] {
                                crate::util::prefetch_write(a.as_ptr().wrapping_add(at + Q), Q * 4);
                            }
                        }
                    }
                }
            });
        });
}

/// Which kernel a chunk runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Complex f32 samples.
    Float,
    /// Integer samples as 16-bit pairs (`vpdpwssd`, `vpmaddwd`).
    Pairs,
    /// 8-bit samples, two time steps per word (`vpdpbusd`).
    Bytes,
}

/// A chunk's planes, per channel, in the panel layout of [`kernels`]; only those of the
/// mode in use are allocated.
#[derive(Debug, Clone, Default)]
struct Chunk {
    /// Float: re, im, re + im.
    f: [Lines<f32>; 3],
    /// 16-bit: packed pairs and their partners.
    w: [Lines<i32>; 2],
    /// 8-bit: row real, row imaginary, column real, column imaginary words.
    b: [Lines<u32>; 4],
    /// 8-bit: the column sums to subtract (real, imaginary), per channel and input.
    col_sums: [Vec<i32>; 2],
}

/// A growable buffer of 4-byte values that starts on a 64-byte line, so that the kernels'
/// 16-lane loads (at multiples of 16 values) never straddle two lines. A `Vec<f32>` of a
/// chunk's size starts 16 bytes into a page, and every such load then touched two lines:
/// aligned, the float kernel ran 1.05–1.25× faster (docs/PERFORMANCE.md, 2026-12-03).
#[derive(Debug, Clone, Default)]
struct Lines<T> {
    lines: Vec<Line<T>>,
    len: usize,
}

/// Sixteen 4-byte values on one 64-byte line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line<T>([T; 16]);

impl<T: Copy + Default> Lines<T> {
    /// `len` values: those kept keep their value, new ones (and any beyond `len`) are
    /// `T::default()` (zero), as `Vec::resize` with zero.
    fn resize(&mut self, len: usize) {
        let old = self.len;
        if len < old {
            self[len..old].fill(T::default());
        }
        self.lines
            .resize(len.div_ceil(16), Line([T::default(); 16]));
        self.len = len;
    }
}

impl<T> Lines<T> {
    /// A line is exactly 16 `T`, with no padding (4-byte `T`): checked when compiled.
    const NO_PADDING: () = assert!(size_of::<Line<T>>() == 16 * size_of::<T>());
}

impl<T> std::ops::Deref for Lines<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        let () = Self::NO_PADDING;
        // SAFETY: a `Line<T>` is 16 `T` (`repr(C)`, no padding: `NO_PADDING`); the lines
        // hold at least `len` values.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }
}

impl<T> std::ops::DerefMut for Lines<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        let () = Self::NO_PADDING;
        // SAFETY: as in `deref`, borrowed uniquely.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
}

/// What the tasks of one chunk share.
struct ChunkCtx<'a> {
    tiles: &'a [(usize, usize)],
    chunk: &'a Chunk,
    /// Spectra per chunk ([`Correlator::chunk_len`]).
    len: usize,
    mode: Mode,
    k: usize,
    s: usize,
    per_chan: usize,
    n_in: usize,
    backend: Backend,
    sub: &'a [usize],
    /// Rows of a task ([`Correlator::task_rows`]).
    rows: usize,
}

impl ChunkCtx<'_> {
    /// [`ChunkCtx::tile_sums`] for float samples: the task's rows against one column panel
    /// at a time, from the panel of its first row on, each tile over the whole chunk (its
    /// first and last part at once).
    fn float_tile_sums<F: FnMut(usize, usize, &[f32], &[f32], bool, bool)>(
        &self,
        c: usize,
        r0: usize,
        mut add: F,
    ) {
        let (base, panel) = (c * self.per_chan, self.len * Q);
        let mut g_re = [0.0f32; kernels::ROWS_F * Q];
        let mut g_im = [0.0f32; kernels::ROWS_F * Q];
        let [re, im, s] = &self.chunk.f;
        let planes = kernels::FloatPlanes { re, im, s };
        let n = self.rows.min(self.n_in - r0);
        thread_local! {
            /// Each thread's buffer for its tasks' packed rows (120 KiB at 256 spectra).
            static PACKED: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let buf = PACKED.take();
        let rows =
            kernels::RowPanel::new(self.backend, planes, (base, panel), (r0, n), self.k, buf);
        for q0 in (r0 - r0 % Q..self.n_in).step_by(Q) {
            let col = kernels::panel_offset(base, panel, q0);
            let next = (q0 + Q < self.n_in).then_some(col + panel);
            let (g_re, g_im) = (&mut g_re, &mut g_im);
            kernels::tiles_f32(self.backend, planes, &rows, (col, q0), next, g_re, g_im);
            for p in r0..r0 + rows.len() {
                let o = (p - r0) * Q..(p - r0 + 1) * Q;
                add(p, q0, &g_re[o.clone()], &g_im[o], true, true);
            }
        }
        PACKED.set(rows.into_buffer());
    }

    /// Run the tiles of channel `c` whose rows are in `r0 .. r0 + ROWS`, passing each tile
    /// row's sums to `add(row, first column, re, im, first part of the chunk, last part)`.
    #[inline]
    fn tile_sums<F: FnMut(usize, usize, &[f32], &[f32], bool, bool)>(
        &self,
        c: usize,
        r0: usize,
        mut add: F,
    ) {
        if self.mode == Mode::Float {
            return self.float_tile_sums(c, r0, add);
        }
        let s = self.s;
        let ch = self.chunk;
        // Steps in the chunk, and values (or words) per panel.
        let (steps, panel) = match self.mode {
            Mode::Bytes => (self.k.div_ceil(2), self.len / 2 * Q),
            _ => (self.k, self.len * Q),
        };
        let base = c * self.per_chan;
        let mut o_re = [0.0f32; P * Q];
        let mut o_im = [0.0f32; P * Q];
        let mut i_re = [0i32; P * Q];
        let mut i_im = [0i32; P * Q];
        // Tiles are in row order: those of rows r0 .. r0 + ROWS are one run.
        let first = self.tiles.partition_point(|t| t.0 < r0);
        let end = self.tiles.partition_point(|t| t.0 < r0 + ROWS);
        for &(p0, q0) in &self.tiles[first..end] {
            let [row, col] = [p0, q0].map(|p| kernels::panel_offset(base, panel, p));
            let mut t0 = 0;
            while t0 < steps {
                let kk = self.sub[c].min(steps - t0);
                let tile = Tile {
                    k: kk,
                    row: row + t0 * Q,
                    col: col + t0 * Q,
                };
                match self.mode {
                    Mode::Float => unreachable!("float chunks go to float_tile_sums"),
                    Mode::Pairs => {
                        let [x, xs] = &ch.w;
                        kernels::tile_i16(self.backend, x, xs, tile, &mut i_re, &mut i_im);
                        for (o, v) in o_re.iter_mut().zip(&i_re) {
                            *o = *v as f32;
                        }
                        for (o, v) in o_im.iter_mut().zip(&i_im) {
                            *o = *v as f32;
                        }
                    }
                    Mode::Bytes => {
                        let [row_re, row_im, col_re, col_im] = &ch.b;
                        let planes = kernels::BytePlanes {
                            row_re,
                            row_im,
                            col_re,
                            col_im,
                        };
                        kernels::tile_i8(self.backend, planes, tile, &mut i_re, &mut i_im);
                        // Take off what the offset rows added to every column.
                        let sums = c * s + q0..c * s + q0 + Q;
                        let (sr, si) = (&ch.col_sums[0][sums.clone()], &ch.col_sums[1][sums]);
                        for a in 0..P {
                            for j in 0..Q {
                                o_re[a * Q + j] = (i_re[a * Q + j] - sr[j]) as f32;
                                o_im[a * Q + j] = (i_im[a * Q + j] - si[j]) as f32;
                            }
                        }
                    }
                }
                for a in 0..P.min(self.n_in - p0) {
                    add(
                        p0 + a,
                        q0,
                        &o_re[a * Q..(a + 1) * Q],
                        &o_im[a * Q..(a + 1) * Q],
                        t0 == 0,
                        t0 + kk == steps,
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
