//! The reference correlator: the triple loop in f64, the oracle of the fast kernels.

use num_complex::{Complex32, Complex64};

/// `V[c][k] = Σ_t conj(x_p(t)) · x_q(t)` for spectra `x[t][c][i]` (`n_chan` channels,
/// `n_in` inputs), `(p, q)` packed row by row (`p <= q`).
pub fn correlate(x: &[Complex32], n_chan: usize, n_in: usize) -> Vec<Vec<Complex64>> {
    let n_spec = x.len() / (n_chan * n_in);
    (0..n_chan)
        .map(|c| {
            let mut v = Vec::with_capacity(n_in * (n_in + 1) / 2);
            for p in 0..n_in {
                for q in p..n_in {
                    let mut acc = Complex64::default();
                    for t in 0..n_spec {
                        let at = |i: usize| {
                            let z = x[(t * n_chan + c) * n_in + i];
                            Complex64::new(z.re as f64, z.im as f64)
                        };
                        acc += at(p).conj() * at(q);
                    }
                    v.push(acc);
                }
            }
            v
        })
        .collect()
}
