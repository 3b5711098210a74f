//! F-engine: polyphase filterbank (PFB) channelisation.
//!
//! # Definition
//! With prototype `h[n]` (`n < L = N·T`, [`filter`]), hop `D = N·Q/P` samples
//! (`P/Q ≥ 1` the oversampling factor; `D = N` when critically sampled) and input `x[t]`,
//! spectrum `m` is
//!
//! ```text
//! y_m[k] = Σ_{n<L} h[n] · x[m·D + n] · exp(−2πi · b_k · (m·D + n) / N)
//! ```
//!
//! i.e. each channel is the input mixed down by its centre frequency `b_k / N` (cycles per
//! sample, with the phase referred to sample 0 of the stream, not of the window), filtered
//! by `h` and decimated by `D`. Consequences, all tested:
//! - a complex tone `A·exp(2πi f t)` at a channel centre gives `A` in that channel in every
//!   spectrum, with a **stationary phase** also when oversampled (the "phase correction":
//!   the folded block is rotated by `m·D mod N` before the FFT);
//! - channel order (docs/CONVENTIONS.md): complex input gives `N` channels, channel `k` at
//!   `(k − ⌊N/2⌋)/N` cycles per sample (`b_k = k − ⌊N/2⌋`), lowest first, the centre
//!   frequency at `k = ⌊N/2⌋`; real input gives `⌊N/2⌋ + 1` channels from DC upward
//!   (`b_k = k`);
//! - spectrum `m` is computed from samples `m·D .. m·D + L`; its time stamp is the window
//!   centre, sample `m·D + (L − 1)/2`.
//!
//! # Implementation
//! Spectra are made in groups whose working set fits in L2. The fold (`kernels.rs`) reads
//! int8, int16 or float32 samples and converts in registers, and writes each block of
//! columns straight to its rotated place. Critically sampled spectra share input rows and
//! all have rotation 0: on AVX-512 (2–16 taps) each column of a group is folded as a FIR
//! in time down the input rows, each input vector loaded once for the `T` spectra it
//! feeds, with the taps and running sums in registers and the sums of the spectra a group
//! begins carried to the next group; elsewhere a group's input rows are staged once,
//! converted to f32, at a padded stride (rows a power of two apart would share cache
//! sets), and each spectrum is folded from them.
//! Only the samples of windows that straddle two calls are kept (converted to f32) in the
//! [`PfbState`]. For complex input with even `N` the taps carry a factor `(−1)^r` (and the
//! fold a sign `(−1)^s` for rotation `s`), which shifts the FFT output by `N/2`: the FFT
//! then yields channels in docs/CONVENTIONS.md order, transformed in place in the (cached)
//! fold buffer and copied to the output with non-temporal stores, so output lines are not
//! read before they are written. The FFT is rustfft's, except for complex input on AVX-512
//! with `N` = 1024, 2048, … (16 times a power of two), where our own (`fft.rs`) runs in the
//! fold row (measured faster there; figures at `FAST_FFT_MIN`). Fold and FFT scratch is
//! per thread. Runs of groups of one call are rayon tasks, so one input uses all threads,
//! and many inputs are balanced across threads a run at a time.
//!
//! # Use
//! A [`Pfb`] is an immutable plan (`Send + Sync`); the streaming state of one input
//! (filter history, spectrum counter, scratch) is a [`PfbState`]. Feeding an input in
//! pieces of any size gives bit-identical spectra to one call.

mod error;
mod fft;
pub mod filter;
mod kernels;
pub mod reference;
pub mod response;
mod sample;

use std::sync::Arc;

use num_complex::Complex32;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};

use crate::simd::{Backend, SimdLevel};

pub use error::ChannelError;
pub use filter::{prototype, Window};
pub use kernels::FoldScalar;
pub use response::ResponseMetrics;
pub use sample::Sample;

/// Whether the input samples are complex (baseband I/Q) or real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// Complex samples; `N` output channels.
    #[default]
    Complex,
    /// Real samples; `⌊N/2⌋ + 1` output channels from DC.
    Real,
}

impl Sampling {
    /// `"complex"` or `"real"`, as in fxgrid's HDF5 headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Sampling::Complex => "complex",
            Sampling::Real => "real",
        }
    }
}

/// Configuration of a filterbank.
#[derive(Debug, Clone, PartialEq)]
pub struct PfbConfig {
    /// Number of channels `N` (the FFT length).
    pub n_chan: usize,
    /// Number of taps `T` per channel (prototype length `N·T`).
    pub n_taps: usize,
    /// Window of the windowed-sinc prototype (ignored when `coeffs` is given).
    pub window: Window,
    /// User-supplied prototype of length `N·T` (used as given; unit gain at channel
    /// centres needs Σ h = 1).
    pub coeffs: Option<Vec<f64>>,
    /// Oversampling factor `P/Q` as `(P, Q)`; `(1, 1)` is critically sampled. `N·Q/P` must
    /// be an integer.
    pub oversampling: (usize, usize),
    /// Complex or real input.
    pub sampling: Sampling,
    /// Instruction set of the fold kernels; `None` takes `FXGRID_SIMD` or else the best
    /// the CPU supports. A level the CPU lacks is an error.
    pub simd: Option<SimdLevel>,
}

impl Default for PfbConfig {
    /// The SKA-Low-like filterbank: 4096 channels, 12 taps, Kaiser β = 9, oversampled
    /// by 32/27, complex input.
    fn default() -> Self {
        Self {
            n_chan: 4096,
            n_taps: 12,
            window: Window::DEFAULT,
            coeffs: None,
            oversampling: (32, 27),
            sampling: Sampling::Complex,
            simd: None,
        }
    }
}

/// Greatest common divisor.
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A filterbank plan: validated parameters, float32 taps laid out for the fold, and the
/// FFT plan.
#[derive(Clone)]
pub struct Pfb {
    n_chan: usize,
    n_taps: usize,
    hop: usize,
    sampling: Sampling,
    oversampling: (usize, usize),
    window: Option<Window>,
    coeffs: Vec<f64>,
    /// Taps in fold order: for complex input each coefficient twice (re, im lanes).
    taps: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
    /// Our AVX-512 transform (`fft.rs`), where the backend has AVX-512, the input is
    /// complex, `N` is at least [`FAST_FFT_MIN`] and 16 times a power of two, and the
    /// channels come out in order (`signed`).
    fast_fft: Option<fft::Plan>,
    backend: Backend,
    /// Complex input with even N: taps carry `(−1)^r` so the FFT output is already in
    /// channel order (module docs, "Implementation").
    signed: bool,
    /// Spectra folded per group (the fold buffer of a group stays in L2).
    group: usize,
    /// Scratch of the tasks running at once.
    scratch: ScratchPool,
}

impl std::fmt::Debug for Pfb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pfb")
            .field("n_chan", &self.n_chan)
            .field("n_taps", &self.n_taps)
            .field("hop", &self.hop)
            .field("oversampling", &self.oversampling)
            .field("sampling", &self.sampling)
            .field("window", &self.window)
            .field("backend", &self.backend)
            .finish()
    }
}

impl Pfb {
    /// Validate `cfg` and build the plan.
    pub fn new(cfg: &PfbConfig) -> Result<Self, ChannelError> {
        let bad = |field, value: String, expected: String| {
            Err(ChannelError::InvalidConfig {
                field,
                value,
                expected,
            })
        };
        let (n, t) = (cfg.n_chan, cfg.n_taps);
        if n == 0 {
            return bad("n_chan", "0".into(), "at least 1 channel".into());
        }
        if t == 0 {
            return bad("n_taps", "0".into(), "at least 1 tap".into());
        }
        if n.checked_mul(t).is_none_or(|l| l > 1 << 28) {
            return bad(
                "n_chan × n_taps",
                format!("{n} × {t}"),
                "at most 2^28 coefficients".into(),
            );
        }
        let (p, q) = cfg.oversampling;
        if p == 0 || q == 0 || p < q {
            return bad(
                "oversampling",
                format!("{p}/{q}"),
                "a ratio P/Q >= 1 of positive integers".into(),
            );
        }
        let g = gcd(p, q);
        let (p, q) = (p / g, q / g);
        if (n * q) % p != 0 {
            return bad(
                "oversampling",
                format!("{p}/{q}"),
                format!("P dividing n_chan × Q so that the hop n_chan·Q/P is whole (n_chan = {n})"),
            );
        }
        let hop = n * q / p;
        let coeffs = match &cfg.coeffs {
            Some(c) => {
                if c.len() != n * t {
                    return Err(ChannelError::Length {
                        what: "prototype coefficients",
                        expected: n * t,
                        found: c.len(),
                    });
                }
                if c.iter().any(|v| !v.is_finite()) {
                    return bad(
                        "coeffs",
                        "a non-finite value".into(),
                        "finite coefficients".into(),
                    );
                }
                c.clone()
            }
            None => prototype(n, t, cfg.window)?,
        };
        let signed = cfg.sampling == Sampling::Complex && n % 2 == 0;
        // Taps in fold order, one block of FOLD_COLS columns after another, each block
        // holding its T rows contiguously (block-major: the taps a pass reads are one
        // contiguous run, not T runs a power of two apart that would share cache sets).
        let lanes = if cfg.sampling == Sampling::Complex {
            2
        } else {
            1
        };
        let width = n * lanes;
        let n_blocks = width.div_ceil(FOLD_COLS);
        let mut taps = vec![0.0f32; n_blocks * t * FOLD_COLS];
        for row in 0..t {
            for c in 0..width {
                let r = c / lanes;
                let h = coeffs[row * n + r];
                let v = if signed && r % 2 == 1 { -h } else { h };
                taps[(c / FOLD_COLS) * t * FOLD_COLS + row * FOLD_COLS + c % FOLD_COLS] = v as f32;
            }
        }
        let backend = Backend::new(cfg.simd)?;
        let slide = hop == n && kernels::has_slide_kernel::<f32>(backend, t);
        let group = group_size(n, t, hop == n, slide, lanes_of(cfg.sampling));
        Ok(Self {
            n_chan: n,
            n_taps: t,
            hop,
            sampling: cfg.sampling,
            oversampling: (p, q),
            window: if cfg.coeffs.is_some() {
                None
            } else {
                Some(cfg.window)
            },
            coeffs,
            taps,
            fft: FftPlanner::new().plan_fft_forward(n),
            fast_fft: (backend.level() == SimdLevel::Avx512 && signed && n >= FAST_FFT_MIN)
                .then(|| fft::Plan::new(n))
                .flatten(),
            backend,
            signed,
            group,
            scratch: ScratchPool::default(),
        })
    }

    /// Number of channels `N`.
    pub fn n_chan(&self) -> usize {
        self.n_chan
    }
    /// Number of taps `T`.
    pub fn n_taps(&self) -> usize {
        self.n_taps
    }
    /// Hop between spectra (input samples).
    pub fn hop(&self) -> usize {
        self.hop
    }
    /// Oversampling factor `(P, Q)` in lowest terms.
    pub fn oversampling(&self) -> (usize, usize) {
        self.oversampling
    }
    /// Complex or real input.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }
    /// The window used (None for user coefficients).
    pub fn window(&self) -> Option<Window> {
        self.window
    }
    /// The prototype coefficients.
    pub fn coeffs(&self) -> &[f64] {
        &self.coeffs
    }
    /// The instruction set of the fold kernels in use.
    pub fn simd(&self) -> SimdLevel {
        self.backend.level()
    }
    /// Channels per spectrum: `N` (complex) or `⌊N/2⌋ + 1` (real).
    pub fn n_out(&self) -> usize {
        match self.sampling {
            Sampling::Complex => self.n_chan,
            Sampling::Real => self.n_chan / 2 + 1,
        }
    }
    /// Prototype length `N·T` (samples per spectrum window).
    pub fn window_len(&self) -> usize {
        self.n_chan * self.n_taps
    }
    /// f32 values per input sample in the state buffer.
    fn lanes(&self) -> usize {
        lanes_of(self.sampling)
    }
    /// Offset of channel `k` in cycles per sample times `N`: `b_k` of the module docs.
    pub fn channel_bin(&self, k: usize) -> i64 {
        match self.sampling {
            Sampling::Complex => k as i64 - (self.n_chan / 2) as i64,
            Sampling::Real => k as i64,
        }
    }

    /// A fresh streaming state for one input (it holds fewer than `2·N·T` samples).
    pub fn new_state(&self) -> PfbState {
        PfbState {
            hist: Vec::new(),
            hist_len: 0,
            next_spectrum: 0,
        }
    }

    /// Number of spectra that `n_new` more samples complete for `state`.
    pub fn spectra_ready(&self, state: &PfbState, n_new: usize) -> usize {
        let have = state.hist_len + n_new;
        let l = self.window_len();
        if have < l {
            0
        } else {
            (have - l) / self.hop + 1
        }
    }

    /// Feed `input` to one input's filterbank and append the completed spectra to `out`
    /// (`n_out()` channels each, channel order of the module docs). Returns the number of
    /// spectra appended.
    ///
    /// # Errors
    /// If the sample type is complex and the plan real, or the reverse.
    pub fn process<S: Sample>(
        &self,
        state: &mut PfbState,
        input: &[S],
        out: &mut Vec<Complex32>,
    ) -> Result<usize, ChannelError> {
        if S::COMPLEX != (self.sampling == Sampling::Complex) {
            return Err(ChannelError::InvalidConfig {
                field: "sample type",
                value: format!(
                    "{} {}",
                    if S::COMPLEX { "complex" } else { "real" },
                    S::NAME
                ),
                expected: format!("{} samples for this filterbank", self.sampling.as_str()),
            });
        }
        let n_spec = self.spectra_ready(state, input.len());
        out.reserve(n_spec * self.n_out());
        let start = out.len();
        out.resize(start + n_spec * self.n_out(), Complex32::default());
        let produced = self.process_into(state, input, &mut out[start..]);
        debug_assert_eq!(produced, n_spec);
        Ok(produced)
    }

    /// [`Pfb::process`] writing into a caller-owned slice of at least
    /// `spectra_ready(state, input.len()) · n_out()` values; returns the spectra written.
    ///
    /// # Panics
    /// If `out` is too short or the sample type does not match the plan's sampling.
    pub fn process_into<S: Sample>(
        &self,
        state: &mut PfbState,
        input: &[S],
        out: &mut [Complex32],
    ) -> usize {
        assert_eq!(
            S::COMPLEX,
            self.sampling == Sampling::Complex,
            "sample type does not match the plan"
        );
        let n_spec = self.spectra_ready(state, input.len());
        let n_out = self.n_out();
        assert!(
            out.len() >= n_spec * n_out,
            "output slice too short: {} < {}",
            out.len(),
            n_spec * n_out
        );
        let (lanes, l, hop) = (self.lanes(), self.window_len(), self.hop);
        let x = S::scalars(input);
        let h = state.hist_len;
        let total = h + input.len();
        // Windows that start in the history: fold them from the history extended by the
        // input samples they need (at most one window length).
        let n_straddle = if h == 0 {
            0
        } else {
            n_spec.min((h - 1) / hop + 1)
        };
        if n_straddle > 0 {
            let need = ((n_straddle - 1) * hop + l - h).min(input.len());
            state
                .hist
                .resize(state.hist.len().max((h + need) * lanes), 0.0);
            convert(
                &x[..need * lanes],
                &mut state.hist[h * lanes..(h + need) * lanes],
            );
            self.spectra(
                &state.hist[..(h + need) * lanes],
                0,
                n_straddle,
                state.next_spectrum,
                &mut out[..n_straddle * n_out],
            );
            state.next_spectrum += n_straddle as u64;
        }
        // Windows entirely inside the input: folded straight from the caller's samples.
        if n_spec > n_straddle {
            self.spectra(
                x,
                n_straddle * hop - h,
                n_spec - n_straddle,
                state.next_spectrum,
                &mut out[n_straddle * n_out..n_spec * n_out],
            );
            state.next_spectrum += (n_spec - n_straddle) as u64;
        }
        // Keep the samples from the next window start on.
        let next = n_spec * hop;
        let keep = total - next;
        state.hist.resize(state.hist.len().max(keep * lanes), 0.0);
        if next >= h {
            convert(&x[(next - h) * lanes..], &mut state.hist[..keep * lanes]);
        } else {
            state.hist.copy_within(next * lanes..h * lanes, 0);
            convert(x, &mut state.hist[(h - next) * lanes..keep * lanes]);
        }
        state.hist_len = keep;
        n_spec
    }

    /// Spectra `m0 .. m0 + count` whose windows start at samples `first + j·D` of `x`
    /// (scalars, `lanes()` per sample), written `n_out()` channels per spectrum to `out`.
    ///
    /// Runs of [`TASK_GROUPS`] groups are rayon tasks: one input's spectra are made in
    /// parallel, and many inputs in parallel (as [`Pfb::process_many`] runs them) are
    /// balanced across threads a run at a time, not an input at a time, so a thread that
    /// the machine slows down delays the end by about one run. Each spectrum is computed
    /// the same way whatever its task, so the output's bits do not depend on the number
    /// of threads.
    fn spectra<T: FoldScalar>(
        &self,
        x: &[T],
        first: usize,
        count: usize,
        m0: u64,
        out: &mut [Complex32],
    ) {
        let per_task = self.group * TASK_GROUPS;
        let n_out = self.n_out();
        if count <= per_task {
            return self.spectra_seq(x, first, count, m0, out);
        }
        out[..count * n_out]
            .par_chunks_mut(per_task * n_out)
            .enumerate()
            .for_each(|(t, o)| {
                let j = t * per_task;
                let c = o.len() / n_out;
                self.spectra_seq(x, first + j * self.hop, c, m0 + j as u64, o);
            });
    }

    /// [`Pfb::spectra`] on the calling thread: fold each group into its rotated place,
    /// transform, and write the channels.
    fn spectra_seq<T: FoldScalar>(
        &self,
        x: &[T],
        first: usize,
        count: usize,
        m0: u64,
        out: &mut [Complex32],
    ) {
        let (n, lanes, hop) = (self.n_chan, self.lanes(), self.hop);
        let width = n * lanes;
        let n_out = self.n_out();
        self.scratch.with(|w| {
            // Every transform is in place (in the fold buffer).
            let scratch_len = match &self.fast_fft {
                Some(_) => 0,
                None => self.fft.get_inplace_scratch_len(),
            };
            // Fold rows are padded by one cache line so they do not share cache sets.
            let rs = n + ROW_PAD;
            // Critically sampled, the group's spectra share input rows (spectrum m folds
            // rows m .. m + T) and all have rotation 0 and sign +1. Where the sliding kernel
            // exists (`kernels::fold_slide`: AVX-512, 2–16 taps) the group is folded
            // straight from the input, each row read once, with the sums of the spectra
            // that the group's last rows begin carried to the next group (in `stage`).
            // Elsewhere the rows are staged whole, converted to f32 (a copy for f32 input),
            // at a stride padded by one cache line, so that the rows of a column block do
            // not all map to the same L1 and L2 sets (the input stride N·lanes is a power
            // of two for usual N; folding a spectrum at a time in place missed L1 on nearly
            // every load and ran 10–20 % slower, copy included); the last T − 1 rows of a
            // group are carried to the next one, so every input row is read from memory
            // once.
            let critical = hop == n;
            let slide = critical && kernels::has_slide_kernel::<T>(self.backend, self.n_taps);
            let staged = critical && !slide;
            let srow = width + STAGE_PAD;
            let stage_len = if staged {
                (self.group + self.n_taps - 1) * srow
            } else if slide {
                (self.n_taps - 1) * width
            } else {
                0
            };
            let (fold, scratch, stage) = w.buffers(self.group * rs, scratch_len, stage_len);
            let strides = kernels::Strides {
                taps: FOLD_COLS,
                x: width,
            };
            let mut j0 = 0;
            while j0 < count {
                let g = self.group.min(count - j0);
                let rows = &mut fold[..g * rs];
                let base = (first + j0 * hop) * lanes;
                if staged {
                    // Rows already staged: the previous (full) group's last T − 1.
                    let kept = if j0 == 0 { 0 } else { self.n_taps - 1 };
                    stage.copy_within(self.group * srow..self.group * srow + kept * srow, 0);
                    for r in kept..g + self.n_taps - 1 {
                        let src = &x[base + r * width..base + (r + 1) * width];
                        convert(src, &mut stage[r * srow..r * srow + width]);
                    }
                }
                {
                    // SAFETY: `Complex32` is `#[repr(C)]` (re, im: f32); a slice of g·rs of them
                    // is a valid, aligned slice of 2·g·rs f32.
                    let flat: &mut [f32] = unsafe {
                        std::slice::from_raw_parts_mut(rows.as_mut_ptr().cast::<f32>(), 2 * g * rs)
                    };
                    let mut c0 = 0;
                    while c0 < width {
                        let len = FOLD_COLS.min(width - c0);
                        if slide {
                            let taps = &self.taps[c0 * self.n_taps..];
                            let folded = kernels::fold_slide(
                                self.backend,
                                taps,
                                &x[base + c0..],
                                &mut flat[c0..],
                                &mut stage[c0..],
                                kernels::SlideStrides {
                                    taps: FOLD_COLS,
                                    x: width,
                                    out: 2 * rs,
                                    carry: width,
                                },
                                (self.n_taps, g, len, j0 == 0),
                            );
                            debug_assert!(folded);
                            c0 += len;
                            continue;
                        }
                        for j in 0..g {
                            let m = m0 + (j0 + j) as u64;
                            let s = self.rotation(m);
                            let sign = if self.signed && s % 2 == 1 { -1.0 } else { 1.0 };
                            let row = &mut flat[j * 2 * rs..j * 2 * rs + width];
                            let dst = (c0 + s * lanes) % width;
                            let first_len = len.min(width - dst);
                            let taps = &self.taps[c0 * self.n_taps..];
                            let at = RotatedBlock {
                                dst,
                                first_len,
                                len,
                                sign,
                            };
                            if critical {
                                let st = kernels::Strides {
                                    taps: FOLD_COLS,
                                    x: srow,
                                };
                                self.fold_rotated(taps, &stage[j * srow + c0..], row, st, at);
                            } else {
                                let xs = &x[(first + (j0 + j) * hop) * lanes + c0..];
                                self.fold_rotated(taps, xs, row, strides, at);
                            }
                        }
                        c0 += len;
                    }
                    if self.sampling == Sampling::Real {
                        // Widen each row of N reals to N complex values, in place, backwards.
                        for j in 0..g {
                            let row = &mut flat[j * 2 * rs..j * 2 * rs + 2 * n];
                            for i in (0..n).rev() {
                                row[2 * i] = row[i];
                                row[2 * i + 1] = 0.0;
                            }
                        }
                    }
                }
                if let Some(p) = &self.fast_fft {
                    // The channels are already in order (`signed`).
                    for j in 0..g {
                        let row = &mut rows[j * rs..j * rs + n];
                        let o = &mut out[(j0 + j) * n_out..(j0 + j + 1) * n_out];
                        p.forward_into(self.backend, row, o);
                    }
                    j0 += g;
                    continue;
                }
                for j in 0..g {
                    let row = &mut rows[j * rs..j * rs + n];
                    let o = &mut out[(j0 + j) * n_out..(j0 + j + 1) * n_out];
                    self.fft.process_with_scratch(row, scratch);
                    match (self.signed, self.sampling) {
                        // The signed taps already put the channels in order.
                        (true, _) => stream_copy(row, o),
                        (false, Sampling::Complex) => {
                            // Channel k holds bin (k − ⌊N/2⌋) mod N.
                            let h = n / 2;
                            o[..h].copy_from_slice(&row[n - h..]);
                            o[h..].copy_from_slice(&row[..n - h]);
                        }
                        (false, Sampling::Real) => o.copy_from_slice(&row[..n_out]),
                    }
                }
                j0 += g;
            }
            // The rows' non-temporal stores (`forward_into`, `stream_copy`), once for all,
            // before `out` goes back to the caller and perhaps another thread: a fence
            // after every row cost the 1024-point filterbank 14–16 %.
            fft::store_fence();
        });
    }

    /// Fold one block of columns into `row` at its rotated place `at.dst`, wrapping to the
    /// row's start after `at.first_len` columns.
    fn fold_rotated<T: FoldScalar>(
        &self,
        taps: &[f32],
        xs: &[T],
        row: &mut [f32],
        st: kernels::Strides,
        at: RotatedBlock,
    ) {
        let (dst, first_len, len) = (at.dst, at.first_len, at.len);
        let b = self.backend;
        kernels::fold(
            b,
            taps,
            xs,
            &mut row[dst..dst + first_len],
            st,
            self.n_taps,
            at.sign,
        );
        if first_len < len {
            let rest = &mut row[..len - first_len];
            kernels::fold(
                b,
                &taps[first_len..],
                &xs[first_len..],
                rest,
                st,
                self.n_taps,
                at.sign,
            );
        }
    }

    /// The rotation `m·D mod N` of spectrum `m` (module docs).
    fn rotation(&self, m: u64) -> usize {
        let n = self.n_chan as u64;
        ((m % n) * (self.hop as u64 % n) % n) as usize
    }

    /// Run many inputs in parallel (rayon): `inputs[i]` feeds `states[i]` and its spectra
    /// are appended to `outs[i]`.
    pub fn process_many<S: Sample>(
        &self,
        states: &mut [PfbState],
        inputs: &[&[S]],
        outs: &mut [Vec<Complex32>],
    ) -> Result<(), ChannelError> {
        if states.len() != inputs.len() || outs.len() != inputs.len() {
            return Err(ChannelError::Length {
                what: "states and outputs per input",
                expected: inputs.len(),
                found: states.len().min(outs.len()),
            });
        }
        states
            .par_iter_mut()
            .zip(inputs.par_iter())
            .zip(outs.par_iter_mut())
            .try_for_each(|((st, inp), out)| self.process(st, inp, out).map(|_| ()))
    }
}

/// Streaming state of one input: the samples not yet consumed (fewer than one window) and
/// the spectrum counter. Created by [`Pfb::new_state`]. Scratch space is per thread.
#[derive(Debug, Clone)]
pub struct PfbState {
    hist: Vec<f32>,
    hist_len: usize,
    next_spectrum: u64,
}

impl PfbState {
    /// Index of the next spectrum this state will produce.
    pub fn next_spectrum(&self) -> u64 {
        self.next_spectrum
    }
    /// Samples held back for the next call.
    pub fn pending_samples(&self) -> usize {
        self.hist_len
    }
}

/// Where a folded block of columns goes in its spectrum's row.
#[derive(Debug, Clone, Copy)]
struct RotatedBlock {
    /// First destination column.
    dst: usize,
    /// Columns before the row wraps.
    first_len: usize,
    /// Columns in the block.
    len: usize,
    /// `±1` (module docs, "Implementation").
    sign: f32,
}

/// Groups per rayon task of [`Pfb::spectra`]. More than one, so that what a critically
/// sampled group carries to the next (the sliding fold's running sums, or the staged
/// path's last `T − 1` input rows) saves most of the re-reading at task starts; few
/// enough to balance threads (critically sampled 4096 × T on AVX-512: 64 spectra,
/// 256 Ki samples per task).
const TASK_GROUPS: usize = 4;

/// Bytes of a critically sampled group's working set (its folded spectra and the input
/// rows they share): it stays in L2 while the group is folded and transformed.
const GROUP_BYTES: usize = 1280 << 10;
/// Bytes of folded spectra per group when oversampled (spectra share few input rows).
const GROUP_BYTES_OVERSAMPLED: usize = 256 << 10;

/// Spectra per group when the sliding kernel folds a critically sampled group straight
/// from the input (`kernels::fold_slide`): a column of the group then reads one line of
/// each of its `g` new rows (`g + T − 1` for a task's first group) in turn, and the
/// hardware prefetches that many streams well only when they are few. Measured in
/// `cargo bench --bench channelise` (Intel Xeon, AVX-512, complex float32, 1 thread, three
/// interleaved rounds, Msamples/s), for 8 / 12 / 16 / 24 spectra: 4096 × 8 325–415 /
/// 377–418 / 345–423 / 350–364, 1024 × 8 379–421 / 370–432 / 395–411 / 381–417; 4096 × 12
/// (two rounds) at 12 and 16: 287–312 / 321–329.
/// The fold rows of a group stay within `GROUP_BYTES_SLIDE`.
const GROUP_SLIDE: usize = 16;
/// Bytes of folded spectra per group on the sliding path.
const GROUP_BYTES_SLIDE: usize = 512 << 10;

/// Spectra per group, at least 1, at most 64. Folded by the sliding kernel (`slide`,
/// critically sampled): at most [`GROUP_SLIDE`]. Otherwise, critically sampled: as many as
/// fit `GROUP_BYTES` with their staged input rows (`g` fold rows of `N` complex values,
/// `g + T − 1` input rows of `N·lanes` f32).
fn group_size(n: usize, n_taps: usize, critical: bool, slide: bool, lanes: usize) -> usize {
    let fold_row = n * std::mem::size_of::<Complex32>();
    if slide {
        return (GROUP_BYTES_SLIDE / fold_row).clamp(1, GROUP_SLIDE);
    }
    if !critical {
        return (GROUP_BYTES_OVERSAMPLED / fold_row).clamp(1, 64);
    }
    let in_row = n * lanes * 4;
    let shared = (n_taps - 1) * in_row;
    (GROUP_BYTES.saturating_sub(shared) / (fold_row + in_row)).clamp(1, 64)
}

/// f32 values per input sample.
fn lanes_of(sampling: Sampling) -> usize {
    match sampling {
        Sampling::Complex => 2,
        Sampling::Real => 1,
    }
}
/// Fewest channels for which the filterbank uses `fft.rs` rather than rustfft. Measured
/// in `cargo bench --bench channelise` (8 taps, critically sampled, complex float32, one
/// thread, three interleaved rounds, AMD EPYC with AVX-512, the transform's radix-4
/// version): 4096 channels 371–385 against 322–335 Msamples/s, 1024 channels 407–422
/// against 421–425. On an Intel Xeon with AVX-512 (the radix-8 version, three
/// interleaved rounds), 1024 channels 296–302 against 264–267. Sizes below 1024 were not
/// measured.
const FAST_FFT_MIN: usize = 1024;

/// Columns (f32 values) folded per pass over a group: keeps the taps of the block and the
/// input rows the group shares in L1.
const FOLD_COLS: usize = 256;
/// Padding of fold rows (complex values: one 64-byte cache line).
const ROW_PAD: usize = 8;

/// Padding of staged input rows (f32 values: one 64-byte cache line), so consecutive rows
/// fall in different L1 sets.
const STAGE_PAD: usize = 16;

/// One task's scratch: the fold buffer of a group, the FFT scratch and the staged input.
#[derive(Default)]
struct Work {
    /// Fold rows, on 64-byte lines (as `fft::Plan::forward` needs).
    fold: Vec<fft::Lane16>,
    scratch: Vec<Complex32>,
    stage: Vec<f32>,
}

impl Work {
    fn buffers(
        &mut self,
        fold: usize,
        scratch: usize,
        stage: usize,
    ) -> (&mut [Complex32], &mut [Complex32], &mut [f32]) {
        if self.fold.len() < fold.div_ceil(8) {
            self.fold.resize(fold.div_ceil(8), fft::Lane16::default());
        }
        if self.scratch.len() < scratch {
            self.scratch.resize(scratch, Complex32::default());
        }
        if self.stage.len() < stage {
            self.stage.resize(stage, 0.0);
        }
        (
            &mut fft::as_complex(&mut self.fold)[..fold],
            &mut self.scratch[..scratch],
            &mut self.stage[..stage],
        )
    }
}

/// The plan's scratch: one [`Work`] per task running at once (at most one per thread),
/// each sized for this plan: a group's fold rows, `group·N·8` bytes, the FFT scratch and,
/// critically sampled, the staged input, `(group + T)·N·lanes·4` bytes (about 1.4 MB in
/// all for 4096 complex channels, 16-spectrum groups and 12 taps). Kept for the next call
/// and freed with the plan; a clone starts empty.
#[derive(Default)]
struct ScratchPool(std::sync::Mutex<Vec<Work>>);

impl ScratchPool {
    /// Runs `f` with a scratch taken from the pool (or a new one), then returns it.
    fn with<R>(&self, f: impl FnOnce(&mut Work) -> R) -> R {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = lock().pop().unwrap_or_default();
        let r = f(&mut w);
        lock().push(w);
        r
    }
}

impl Clone for ScratchPool {
    fn clone(&self) -> Self {
        ScratchPool::default()
    }
}

/// Convert scalars to f32.
fn convert<T: FoldScalar>(src: &[T], dst: &mut [f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v.to_f32();
    }
}

/// Copy `src` to `dst` with non-temporal stores where the CPU has them: spectra go to
/// memory without first reading the destination lines (no read-for-ownership). A plain
/// copy where `dst` is not 8-byte aligned. The caller fences ([`fft::store_fence`]).
fn stream_copy(src: &[Complex32], dst: &mut [Complex32]) {
    assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if (dst.as_ptr() as usize).is_multiple_of(8) {
        use std::arch::x86_64::{_mm_loadu_ps, _mm_stream_ps};
        // One complex value before the first 16-byte boundary of `dst`, stored normally.
        let head = usize::from(!(dst.as_ptr() as usize).is_multiple_of(16)).min(dst.len());
        dst[..head].copy_from_slice(&src[..head]);
        let body = (dst.len() - head) / 2 * 2;
        let s = src[head..].as_ptr().cast::<f32>();
        let d = dst[head..].as_mut_ptr().cast::<f32>();
        // SAFETY: `body` complex values (2·body f32) are in bounds of both slices after
        // `head`; `d` is 16-byte aligned, as `_mm_stream_ps` requires.
        unsafe {
            for i in (0..2 * body).step_by(4) {
                _mm_stream_ps(d.add(i), _mm_loadu_ps(s.add(i)));
            }
        }
        dst[head + body..].copy_from_slice(&src[head + body..]);
        return;
    }
    dst.copy_from_slice(src);
}
