//! The gridding kernel: the "exponential of semicircle" (ES) function
//! `ψ(t) = exp(β (√(1 − t²) − 1))` for `|t| < 1` (Barnett, Magland & af Klinteberg 2019;
//! used for radio gridding by Arras et al. 2021, A&A 646, A58), its Fourier transform (the
//! image-plane correction) and a fast piecewise-polynomial evaluator.
//!
//! A kernel of support `W` grid cells is `ψ(x / h)` with `h = W/2` and `x` in cells. Its
//! Fourier transform, in cycles per cell, is
//! `Φ(ξ) = 2h ∫₀¹ ψ(t) cos(2π h ξ t) dt`, evaluated by Gauss–Legendre quadrature. Spreading
//! with `ψ` and dividing the FFT by `Φ` is exact up to the aliasing of `Φ`'s tails, which is
//! what [`EsKernel::aliasing_error`] estimates and what the parameter choice bounds.

use std::f64::consts::PI;

/// Number of Gauss–Legendre nodes for the kernel's Fourier transform. The integrand
/// `ψ(t) cos(2π h ξ t)` oscillates at most `h·|ξ| ≤ 8 · 4` times over `[0, 1]` in the
/// aliasing estimate and is smooth to e^-β at `t = 1`; 256 nodes integrate it to rounding.
const QUAD_NODES: usize = 256;

/// Nodes and weights of `n`-point Gauss–Legendre quadrature on `[0, 1]`.
pub fn gauss_legendre_unit(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = Vec::with_capacity(n);
    let mut w = Vec::with_capacity(n);
    for i in 0..n {
        // Newton iteration on P_n from the Chebyshev-like first guess.
        let mut z = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0f64, z);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * z * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            // p1 = P_n(z), p0 = P_{n-1}(z)
            dp = n as f64 * (z * p1 - p0) / (z * z - 1.0);
            let dz = p1 / dp;
            z -= dz;
            if dz.abs() < 1e-16 {
                break;
            }
        }
        // Map [-1, 1] to [0, 1].
        x.push(0.5 * (1.0 - z));
        w.push(1.0 / ((1.0 - z * z) * dp * dp));
    }
    (x, w)
}

/// An ES kernel of support `W` cells and shape parameter `β`.
#[derive(Debug, Clone)]
pub struct EsKernel {
    support: usize,
    beta: f64,
    quad_t: Vec<f64>,
    quad_psi_w: Vec<f64>,
}

impl EsKernel {
    /// The kernel of support `support` cells (≥ 2) and shape `beta` (> 0).
    pub fn new(support: usize, beta: f64) -> Self {
        let (t, w) = gauss_legendre_unit(QUAD_NODES);
        let quad_psi_w = t.iter().zip(&w).map(|(&t, &w)| w * es(beta, t)).collect();
        EsKernel {
            support,
            beta,
            quad_t: t,
            quad_psi_w,
        }
    }

    /// Support in grid cells.
    pub fn support(&self) -> usize {
        self.support
    }

    /// Shape parameter β.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// `ψ(t)`, `t` in units of the half support.
    pub fn value(&self, t: f64) -> f64 {
        es(self.beta, t)
    }

    /// Fourier transform `Φ(ξ)` of `ψ(x/h)`, `ξ` in cycles per grid cell.
    pub fn fourier(&self, xi: f64) -> f64 {
        let h = 0.5 * self.support as f64;
        let k = 2.0 * PI * h * xi;
        let s: f64 = self
            .quad_t
            .iter()
            .zip(&self.quad_psi_w)
            .map(|(&t, &pw)| pw * (k * t).cos())
            .sum();
        2.0 * h * s
    }

    /// Estimated relative L2 error of one dimension of gridding followed by the
    /// correction, for an image whose power is spread over the field: the root mean
    /// square, over outputs `|ξ| ≤ 1/(2σ)` cycles per cell (σ = grid oversampling), of the
    /// root-sum-square of the aliased copies `Φ(ξ + m)`, `m ≠ 0`, relative to `Φ(ξ)`.
    /// Random visibility phases add the aliases in quadrature.
    ///
    /// The relative error at one output position can be larger, up to
    /// [`Self::aliasing_error_max`] at the edge of the field (about 3× the RMS).
    pub fn aliasing_error(&self, sigma: f64) -> f64 {
        self.aliasing_error_with(sigma, ALIAS_SAMPLES).0
    }

    /// The largest relative aliasing error over `|ξ| ≤ 1/(2σ)` (see
    /// [`Self::aliasing_error`]).
    pub fn aliasing_error_max(&self, sigma: f64) -> f64 {
        self.aliasing_error_with(sigma, ALIAS_SAMPLES).1
    }

    /// (RMS, max) of the relative aliasing error on `n` midpoints of `[0, 1/(2σ)]`. The
    /// error oscillates in ξ (zeros of the aliased copies), so `n` must resolve it: the
    /// tests compare with a four times finer sampling.
    pub fn aliasing_error_with(&self, sigma: f64, n: usize) -> (f64, f64) {
        let xi_max = 0.5 / sigma;
        let (mut sum2, mut worst) = (0.0f64, 0.0f64);
        for i in 0..n {
            let xi = xi_max * (i as f64 + 0.5) / n as f64;
            let main = self.fourier(xi);
            let mut alias = 0.0;
            for m in 1..=3 {
                let m = m as f64;
                alias += self.fourier(xi + m).powi(2) + self.fourier(xi - m).powi(2);
            }
            let rel2 = alias / (main * main);
            sum2 += rel2;
            worst = worst.max(rel2.sqrt());
        }
        ((sum2 / n as f64).sqrt(), worst)
    }
}

/// Samples of ξ in the aliasing estimate.
const ALIAS_SAMPLES: usize = 128;

/// Chebyshev coefficients `c_k` of the degree `n − 1` interpolant of `f` at the `n`
/// Chebyshev points of `[-1, 1]`: `f(y) ≈ Σ c_k T_k(y)`.
fn chebyshev_interpolant(n: usize, f: impl Fn(f64) -> f64) -> Vec<f64> {
    let values: Vec<f64> = (0..n)
        .map(|j| f((PI * (j as f64 + 0.5) / n as f64).cos()))
        .collect();
    (0..n)
        .map(|k| {
            let s: f64 = values
                .iter()
                .enumerate()
                .map(|(j, v)| v * (PI * k as f64 * (j as f64 + 0.5) / n as f64).cos())
                .sum();
            s * if k == 0 { 1.0 } else { 2.0 } / n as f64
        })
        .collect()
}

/// The ES function itself, zero outside `|t| < 1`.
pub fn es(beta: f64, t: f64) -> f64 {
    let t2 = t * t;
    if t2 >= 1.0 {
        0.0
    } else {
        (beta * ((1.0 - t2).sqrt() - 1.0)).exp()
    }
}

/// Piecewise-polynomial form of a kernel for fast evaluation of all `W` weights at once.
///
/// A point at fractional grid position `X` touches cells `a0 .. a0 + W` with
/// `a0 = floor(X − W/2) + 1`. With `δ = X − W/2 − floor(X − W/2) ∈ [0, 1)` and
/// `z = 1 − 2δ ∈ (−1, 1]`, cell `a0 + i` has weight `ψ((2i + 1 + z)/W − 1)`, a polynomial
/// `p_i(z)` on each of the `W` intervals. The coefficients are stored degree-major
/// (`coeff[d * W + i]`, highest degree first) so a Horner step is one vector operation
/// across the `W` cells.
#[derive(Debug, Clone)]
pub struct PolyKernel {
    /// Support W.
    pub support: usize,
    /// Polynomial degree.
    pub degree: usize,
    /// Coefficients, `(degree + 1) × W`, highest degree first.
    pub coeff: Vec<f64>,
    /// Largest absolute deviation from the exact kernel found on a fine sampling.
    pub max_error: f64,
}

impl PolyKernel {
    /// Fits the smallest degree in `W .. W + 8` whose largest deviation from `kernel`
    /// is below `tolerance` (the best one found if none is).
    pub fn fit(kernel: &EsKernel, tolerance: f64) -> PolyKernel {
        let w = kernel.support();
        let mut best: Option<PolyKernel> = None;
        for degree in (w.saturating_sub(2)).max(3)..=w + 8 {
            let candidate = Self::fit_degree(kernel, degree);
            let ok = candidate.max_error <= tolerance;
            if best
                .as_ref()
                .is_none_or(|b| candidate.max_error < b.max_error)
            {
                best = Some(candidate);
            }
            if ok {
                break;
            }
        }
        best.expect("at least one degree is tried")
    }

    fn fit_degree(kernel: &EsKernel, degree: usize) -> PolyKernel {
        let w = kernel.support();
        let n = degree + 1;
        let mut coeff = vec![0.0; n * w];
        for i in 0..w {
            // Chebyshev interpolation of p_i on [-1, 1] ...
            let cheb = chebyshev_interpolant(n, |z| {
                kernel.value((2 * i + 1) as f64 / w as f64 + z / w as f64 - 1.0)
            });
            // ... converted to monomials with the recurrence T_{k+1} = 2 z T_k − T_{k−1}.
            let mut mono = vec![0.0; n];
            let mut t_prev = vec![0.0; n];
            let mut t_cur = vec![0.0; n];
            t_prev[0] = 1.0;
            if n > 1 {
                t_cur[1] = 1.0;
            }
            mono[0] += cheb[0];
            if n > 1 {
                mono[1] += cheb[1];
            }
            for &c in cheb.iter().skip(2) {
                let mut t_next = vec![0.0; n];
                for d in 0..n {
                    if d > 0 {
                        t_next[d] += 2.0 * t_cur[d - 1];
                    }
                    t_next[d] -= t_prev[d];
                }
                for d in 0..n {
                    mono[d] += c * t_next[d];
                }
                t_prev = std::mem::replace(&mut t_cur, t_next);
            }
            for (d, &m) in mono.iter().enumerate() {
                coeff[(degree - d) * w + i] = m;
            }
        }
        let mut pk = PolyKernel {
            support: w,
            degree,
            coeff,
            max_error: 0.0,
        };
        let mut out = vec![0.0; w];
        let mut max_error = 0.0f64;
        const FINE: usize = 257;
        for s in 0..FINE {
            let delta = s as f64 / FINE as f64;
            pk.eval(delta, &mut out);
            for (i, &o) in out.iter().enumerate() {
                let t = (2 * i + 1) as f64 / w as f64 + (1.0 - 2.0 * delta) / w as f64 - 1.0;
                max_error = max_error.max((o - kernel.value(t)).abs());
            }
        }
        pk.max_error = max_error;
        pk
    }

    /// All `W` weights for fractional offset `δ ∈ [0, 1)` (slow path, f64).
    pub fn eval(&self, delta: f64, out: &mut [f64]) {
        let w = self.support;
        let z = 1.0 - 2.0 * delta;
        out.copy_from_slice(&self.coeff[..w]);
        for d in 1..=self.degree {
            for (o, &c) in out.iter_mut().zip(&self.coeff[d * w..(d + 1) * w]) {
                *o = *o * z + c;
            }
        }
    }
}

/// Fast evaluation of `1/Φ(ξ)` for `|ξ| ≤ ξ_max` (the image-plane correction): a Chebyshev
/// interpolant in `ξ²` (Φ is even), fitted once per plan and checked against the
/// quadrature.
#[derive(Debug, Clone)]
pub struct InverseFourier {
    xi_max2: f64,
    cheb: Vec<f64>,
    /// Largest relative deviation from `1/Φ` found when fitting.
    pub max_rel_error: f64,
}

impl InverseFourier {
    /// The interpolant of `1/kernel.fourier(ξ)` on `|ξ| ≤ xi_max`.
    pub fn new(kernel: &EsKernel, xi_max: f64) -> Self {
        let xi_max = xi_max.max(1e-12);
        let mut best: Option<InverseFourier> = None;
        for n in [16usize, 24, 32, 48, 64, 96, 128] {
            let cheb = chebyshev_interpolant(n, |y| {
                1.0 / kernel.fourier(xi_max * (0.5 * (y + 1.0)).sqrt())
            });
            let mut cand = InverseFourier {
                xi_max2: xi_max * xi_max,
                cheb,
                max_rel_error: 0.0,
            };
            let mut err = 0.0f64;
            for i in 0..=64 {
                let xi = xi_max * (i as f64 + 0.37) / 64.4;
                let exact = 1.0 / kernel.fourier(xi);
                err = err.max(((cand.eval(xi) - exact) / exact).abs());
            }
            cand.max_rel_error = err;
            let done = err < 1e-14;
            if best.as_ref().is_none_or(|b| err < b.max_rel_error) {
                best = Some(cand);
            }
            if done {
                break;
            }
        }
        best.expect("at least one degree is tried")
    }

    /// `1/Φ(ξ)`.
    #[inline]
    pub fn eval(&self, xi: f64) -> f64 {
        let y = 2.0 * (xi * xi / self.xi_max2) - 1.0;
        // Clenshaw recurrence.
        let (mut b1, mut b2) = (0.0f64, 0.0f64);
        for &c in self.cheb.iter().skip(1).rev() {
            let b0 = 2.0 * y * b1 - b2 + c;
            b2 = b1;
            b1 = b0;
        }
        y * b1 - b2 + self.cheb[0]
    }

    /// [`Self::eval`] at `L` points at once: the same operations in the same order, lane
    /// by lane, so the `L` recurrences overlap instead of waiting on one another.
    #[inline(always)]
    pub fn eval_lanes<const L: usize>(&self, xi: &[f64; L]) -> [f64; L] {
        let mut y = [0.0; L];
        for (y, &x) in y.iter_mut().zip(xi) {
            *y = 2.0 * (x * x / self.xi_max2) - 1.0;
        }
        let (mut b1, mut b2) = ([0.0f64; L], [0.0f64; L]);
        for &c in self.cheb.iter().skip(1).rev() {
            for l in 0..L {
                let b0 = 2.0 * y[l] * b1[l] - b2[l] + c;
                b2[l] = b1[l];
                b1[l] = b0;
            }
        }
        let mut out = [0.0; L];
        for l in 0..L {
            out[l] = y[l] * b1[l] - b2[l] + self.cheb[0];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadrature_integrates_polynomials_and_the_gaussian() {
        let (x, w) = gauss_legendre_unit(32);
        let s: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(7)).sum();
        assert!((s - 1.0 / 8.0).abs() < 1e-15);
        let g: f64 = x.iter().zip(&w).map(|(x, w)| w * (-x * x).exp()).sum();
        // ∫₀¹ e^{-x²} dx = √π/2 · erf(1)
        assert!((g - 0.746_824_132_812_427).abs() < 1e-14);
    }

    #[test]
    fn fourier_transform_matches_a_direct_riemann_sum() {
        let k = EsKernel::new(8, 2.3 * 8.0);
        for &xi in &[0.0, 0.1, 0.3, 1.2] {
            let n = 200_000;
            let h = 4.0;
            let dx = 2.0 * h / n as f64;
            let direct: f64 = (0..n)
                .map(|i| {
                    let x = -h + (i as f64 + 0.5) * dx;
                    k.value(x / h) * (2.0 * PI * x * xi).cos() * dx
                })
                .sum();
            assert!(
                (direct - k.fourier(xi)).abs() < 1e-9 * k.fourier(0.0),
                "xi {xi}: {direct} vs {}",
                k.fourier(xi)
            );
        }
    }

    #[test]
    fn inverse_fourier_interpolant_is_negligible_against_the_kernel_error() {
        use crate::grid::params::{KERNEL_TABLE, MIN_SUPPORT, SIGMAS};
        for (w, si) in [
            (4usize, 16usize),
            (7, 4),
            (10, 1),
            (12, 2),
            (16, 0),
            (16, 16),
        ] {
            let (beta, alias, _) = KERNEL_TABLE[w - MIN_SUPPORT][si];
            let sigma = SIGMAS[si];
            let k = EsKernel::new(w, beta);
            let inv = InverseFourier::new(&k, 0.5 / sigma);
            let bound = (0.01 * alias).max(1e-14);
            assert!(
                inv.max_rel_error < bound,
                "W {w} σ {sigma}: {} vs {bound:e}",
                inv.max_rel_error
            );
            let xi = 0.3 / sigma;
            assert!((inv.eval(-xi) * k.fourier(xi) - 1.0).abs() < bound);
            // The lane form is the same arithmetic.
            let pts: [f64; 8] = std::array::from_fn(|i| (i as f64 - 3.5) * 0.13 / sigma);
            let lanes = inv.eval_lanes(&pts);
            for (x, v) in pts.iter().zip(lanes) {
                assert_eq!(v.to_bits(), inv.eval(*x).to_bits());
            }
        }
    }

    #[test]
    fn polynomial_fit_is_limited_only_by_the_kernel_edge() {
        // ψ has a square-root edge of height e^-β at |t| = 1, which bounds how well any
        // polynomial can follow it: narrow kernels (small β) reach ~e^-β, wide ones ~1e-13.
        for w in [4usize, 7, 11, 16] {
            let beta = 2.2 * w as f64;
            let k = EsKernel::new(w, beta);
            let p = PolyKernel::fit(&k, 1e-15);
            let bound = 3.0 * (-beta).exp() + 1e-14;
            assert!(
                p.max_error < bound,
                "W {w}: {} (bound {bound:e})",
                p.max_error
            );
        }
    }

    #[test]
    fn aliasing_error_falls_with_support_and_oversampling() {
        let e = |w: usize, s: f64| {
            EsKernel::new(w, 0.97 * PI * w as f64 * (1.0 - 0.5 / s)).aliasing_error(s)
        };
        assert!(e(8, 2.0) < e(6, 2.0));
        assert!(e(8, 2.0) < e(8, 1.5));
        // About one digit per unit of support at σ = 2 (Barnett et al. 2019).
        let e8 = e(8, 2.0);
        assert!(e8 < 1e-6 && e8 > 1e-9, "{e8}");
    }
}
