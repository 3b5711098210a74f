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
//! - channel order (DESIGN.md): complex input gives `N` channels, channel `k` at
//!   `(k − ⌊N/2⌋)/N` cycles per sample (`b_k = k − ⌊N/2⌋`), lowest first, the centre
//!   frequency at `k = ⌊N/2⌋`; real input gives `⌊N/2⌋ + 1` channels from DC upward
//!   (`b_k = k`);
//! - spectrum `m` is computed from samples `m·D .. m·D + L`; its time stamp is the window
//!   centre, sample `m·D + (L − 1)/2`.
//!
//! # Use
//! A [`Pfb`] is an immutable plan (`Send + Sync`); the streaming state of one input
//! (filter history, spectrum counter, scratch) is a [`PfbState`]. Feeding an input in
//! pieces of any size gives bit-identical spectra to one call.

mod error;
pub mod filter;
pub mod kernels;
pub mod reference;
pub mod response;
mod sample;

use std::sync::Arc;

use num_complex::Complex32;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};

pub use error::ChannelError;
pub use filter::{prototype, Window};
pub use kernels::FoldBackend;
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
    /// Fold kernel; `None` picks the best the CPU supports.
    pub backend: Option<FoldBackend>,
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
            backend: None,
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
    fold: kernels::FoldFn,
    backend: FoldBackend,
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
        let taps: Vec<f32> = match cfg.sampling {
            Sampling::Complex => coeffs.iter().flat_map(|&h| [h as f32, h as f32]).collect(),
            Sampling::Real => coeffs.iter().map(|&h| h as f32).collect(),
        };
        let backend = cfg.backend.unwrap_or_else(kernels::best_backend);
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
            fold: kernels::fold_fn(backend),
            backend,
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
    /// The fold kernel in use.
    pub fn backend(&self) -> FoldBackend {
        self.backend
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
        match self.sampling {
            Sampling::Complex => 2,
            Sampling::Real => 1,
        }
    }
    /// Offset of channel `k` in cycles per sample times `N`: `b_k` of the module docs.
    pub fn channel_bin(&self, k: usize) -> i64 {
        match self.sampling {
            Sampling::Complex => k as i64 - (self.n_chan / 2) as i64,
            Sampling::Real => k as i64,
        }
    }

    /// A fresh streaming state for one input.
    pub fn new_state(&self) -> PfbState {
        let l = self.window_len();
        // Room for the window plus a block of new samples (at least 64 spectra' worth).
        let cap = l + (64 * self.hop).max(1 << 16);
        PfbState {
            buf: vec![0.0; cap * self.lanes()],
            cap,
            filled: 0,
            next_spectrum: 0,
            fold: vec![0.0; self.n_chan * self.lanes()],
            work: vec![Complex32::default(); self.n_chan],
            scratch: vec![Complex32::default(); self.fft.get_inplace_scratch_len()],
        }
    }

    /// Number of spectra that `n_new` more samples complete for `state`.
    pub fn spectra_ready(&self, state: &PfbState, n_new: usize) -> usize {
        let have = state.filled + n_new;
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
        let need = self.spectra_ready(state, input.len()) * self.n_out();
        assert!(
            out.len() >= need,
            "output slice too short: {} < {need}",
            out.len()
        );
        let lanes = self.lanes();
        let l = self.window_len();
        let mut consumed = 0;
        let mut written = 0;
        while consumed < input.len() {
            let take = (state.cap - state.filled).min(input.len() - consumed);
            let base = state.filled * lanes;
            let dst = &mut state.buf[base..base + take * lanes];
            for (d, &s) in dst
                .chunks_exact_mut(lanes)
                .zip(&input[consumed..consumed + take])
            {
                s.put(d, 0);
            }
            state.filled += take;
            consumed += take;
            let mut pos = 0;
            while pos + l <= state.filled {
                let o = &mut out[written * self.n_out()..(written + 1) * self.n_out()];
                self.one_spectrum(state, pos, o);
                written += 1;
                pos += self.hop;
            }
            if pos > 0 {
                let keep = state.filled - pos.min(state.filled);
                state.buf.copy_within(pos * lanes..(pos + keep) * lanes, 0);
                state.filled = keep;
            }
        }
        written
    }

    /// Fold, rotate, FFT and reorder the spectrum whose window starts at `pos` in the
    /// state's buffer.
    fn one_spectrum(&self, state: &mut PfbState, pos: usize, out: &mut [Complex32]) {
        let n = self.n_chan;
        let lanes = self.lanes();
        let width = n * lanes;
        let x = &state.buf[pos * lanes..(pos + self.window_len()) * lanes];
        (self.fold)(&self.taps, x, &mut state.fold, width, self.n_taps);
        // Rotate by s = m·D mod N so the phase is referred to the start of the stream.
        let s = ((state.next_spectrum % n as u64) * (self.hop % n) as u64 % n as u64) as usize;
        let work = &mut state.work;
        // work[(r + s) mod N] = z[r], as two contiguous runs.
        let (head, tail) = work.split_at_mut(s);
        match self.sampling {
            Sampling::Complex => {
                let z = &state.fold;
                for (w, c) in tail.iter_mut().zip(z.chunks_exact(2)) {
                    *w = Complex32::new(c[0], c[1]);
                }
                for (w, c) in head.iter_mut().zip(z[2 * (n - s)..].chunks_exact(2)) {
                    *w = Complex32::new(c[0], c[1]);
                }
            }
            Sampling::Real => {
                let z = &state.fold;
                for (w, &v) in tail.iter_mut().zip(z) {
                    *w = Complex32::new(v, 0.0);
                }
                for (w, &v) in head.iter_mut().zip(&z[n - s..]) {
                    *w = Complex32::new(v, 0.0);
                }
            }
        }
        self.fft.process_with_scratch(work, &mut state.scratch);
        match self.sampling {
            Sampling::Complex => {
                // Channel k holds bin (k − ⌊N/2⌋) mod N.
                let h = n / 2;
                out[..h].copy_from_slice(&work[n - h..]);
                out[h..].copy_from_slice(&work[..n - h]);
            }
            Sampling::Real => out.copy_from_slice(&work[..n / 2 + 1]),
        }
        state.next_spectrum += 1;
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

/// Streaming state of one input: the samples not yet consumed, the spectrum counter and
/// scratch space. Created by [`Pfb::new_state`].
#[derive(Debug, Clone)]
pub struct PfbState {
    buf: Vec<f32>,
    cap: usize,
    filled: usize,
    next_spectrum: u64,
    fold: Vec<f32>,
    work: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl PfbState {
    /// Index of the next spectrum this state will produce.
    pub fn next_spectrum(&self) -> u64 {
        self.next_spectrum
    }
    /// Samples held back for the next call.
    pub fn pending_samples(&self) -> usize {
        self.filled
    }
}
