//! The direct formula of the filterbank in f64: the oracle for [`super::Pfb`].
//!
//! `y_m[k] = Σ_{n<L} h[n] · x[m·D + n] · exp(−2πi · b_k · (m·D + n) / N)` for every `m`
//! with `m·D + L <= len(x)` (module docs of [`super`]).

use num_complex::Complex64;

use super::Sampling;

/// All complete spectra of `x` (complex samples; for real input pass `im = 0`).
/// Returns `[spectrum][channel]`, channels in the library order.
pub fn pfb_reference(
    coeffs: &[f64],
    n_chan: usize,
    hop: usize,
    sampling: Sampling,
    x: &[Complex64],
) -> Vec<Vec<Complex64>> {
    let l = coeffs.len();
    let n_out = match sampling {
        Sampling::Complex => n_chan,
        Sampling::Real => n_chan / 2 + 1,
    };
    let bin = |k: usize| match sampling {
        Sampling::Complex => k as i64 - (n_chan / 2) as i64,
        Sampling::Real => k as i64,
    };
    let mut out = Vec::new();
    let mut m = 0usize;
    while m * hop + l <= x.len() {
        let spec = (0..n_out)
            .map(|k| {
                let b = bin(k);
                (0..l)
                    .map(|n| {
                        let t = (m * hop + n) as i64;
                        // Reduce b·t mod N exactly in integers before the exponential.
                        let turns = (b * t).rem_euclid(n_chan as i64) as f64 / n_chan as f64;
                        coeffs[n]
                            * x[m * hop + n]
                            * Complex64::from_polar(1.0, -std::f64::consts::TAU * turns)
                    })
                    .sum()
            })
            .collect();
        out.push(spec);
        m += 1;
    }
    out
}
