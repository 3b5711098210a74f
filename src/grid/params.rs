//! Choice of the gridding parameters from the requested accuracy: kernel support `W` and
//! shape `β`, grid oversampling `σ`, FFT-friendly grid sizes, number of w-planes and tile
//! size, by a cost model. [`choose`] is a pure function of its inputs.
//!
//! The accuracy of each (W, σ) pair comes from [`KERNEL_TABLE`], made by
//! [`optimise_kernel`] (the `kernel_table` test prints it into `es_table.rs`): for each pair, the β that
//! minimises the one-dimensional aliasing error estimate of [`EsKernel::aliasing_error`]
//! (an RMS over the field, the measure of the relative L2 error ε), and that error. A
//! d-dimensional gridding (d = 2, or 3 with w-stacking) is accepted when
//! `√d · error + u · gain^d` (u: unit roundoff, gain: the RMS correction gain) is at most
//! half the requested ε. The other half is margin: the estimate is an expectation, and
//! measured errors scatter around it; the polynomial kernel evaluation takes 5 % of ε. The
//! tests check the result against the direct Fourier sum for every supported ε.
//!
//! ε bounds the relative L2 error of the whole output for data whose power is spread
//! over the field (random visibilities, extended emission, many sources). A single bright
//! source near the edge of the field sees the edge value of the aliasing error, about
//! three times the RMS ([`EsKernel::aliasing_error_max`]), which the margin mostly covers.

use std::f64::consts::PI;

use super::es_kernel::EsKernel;
use super::GridError;

/// Smallest and largest kernel support.
pub const MIN_SUPPORT: usize = 4;
/// Largest kernel support.
pub const MAX_SUPPORT: usize = 16;
/// Oversampling factors considered (σ = 1.20, 1.25, …, 2.00).
pub const SIGMAS: [f64; 17] = [
    1.20, 1.25, 1.30, 1.35, 1.40, 1.45, 1.50, 1.55, 1.60, 1.65, 1.70, 1.75, 1.80, 1.85, 1.90, 1.95,
    2.00,
];
/// Smallest ε accepted in f32: below it rounding in the grid and FFT dominates.
pub const MIN_EPSILON_F32: f64 = 1e-5;
/// Smallest ε accepted in f64.
pub const MIN_EPSILON_F64: f64 = 1e-13;
/// Grid sizes are multiples of this (the tile size), so tiles of one colour never overlap.
pub const TILE: usize = 16;

/// β minimising the aliasing error for support `w` and oversampling `sigma`, that error,
/// and the kernel's RMS correction gain `sqrt(mean (Φ(0)/Φ(ξ))²)` over `|ξ| ≤ 1/(2σ)`,
/// by which the correction amplifies rounding errors of the grid and FFT: a
/// golden-section search over `β = γ π W (1 − 1/(2σ))`, γ ∈ [0.8, 1.1].
pub fn optimise_kernel(w: usize, sigma: f64) -> (f64, f64, f64) {
    let base = PI * w as f64 * (1.0 - 0.5 / sigma);
    let err = |g: f64| EsKernel::new(w, g * base).aliasing_error(sigma);
    let (mut a, mut b) = (0.8f64, 1.1f64);
    let r = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    let (mut fc, mut fd) = (err(c), err(d));
    for _ in 0..14 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = err(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = err(d);
        }
    }
    let g = 0.5 * (a + b);
    let kernel = EsKernel::new(w, g * base);
    let f0 = kernel.fourier(0.0);
    const N: usize = 64;
    let gain = ((0..N)
        .map(|i| (f0 / kernel.fourier(0.5 / sigma * (i as f64 + 0.5) / N as f64)).powi(2))
        .sum::<f64>()
        / N as f64)
        .sqrt();
    (g * base, err(g), gain)
}

include!("es_table.rs");

/// Looks up β, the error estimate and the correction gain of (W, σ-index).
fn table(w: usize, sigma_index: usize) -> (f64, f64, f64) {
    KERNEL_TABLE[w - MIN_SUPPORT][sigma_index]
}

pub use crate::Precision;

/// What the gridder needs of a precision.
impl Precision {
    /// Smallest ε this precision supports.
    pub fn min_epsilon(self) -> f64 {
        match self {
            Precision::F32 => MIN_EPSILON_F32,
            Precision::F64 => MIN_EPSILON_F64,
        }
    }

    /// Unit roundoff, by which rounding errors of the grid and FFT are counted.
    pub fn rounding(self) -> f64 {
        match self {
            Precision::F32 => f32::EPSILON as f64 / 2.0,
            Precision::F64 => f64::EPSILON / 2.0,
        }
    }
}

/// Everything the parameter choice looks at.
#[derive(Debug, Clone, Copy)]
pub struct ParamInputs {
    /// Requested relative L2 accuracy.
    pub epsilon: f64,
    /// Precision of the data.
    pub precision: Precision,
    /// Image width (columns).
    pub npix_x: usize,
    /// Image height (rows).
    pub npix_y: usize,
    /// Pixel size along l (rad, direction cosine).
    pub cell_x_rad: f64,
    /// Pixel size along m.
    pub cell_y_rad: f64,
    /// Number of visibilities (rows × channels, unflagged).
    pub n_vis: usize,
    /// Whether the w-term is applied (w-stacking).
    pub wstacking: bool,
    /// Smallest and largest |w| in wavelengths (after folding w ≥ 0).
    pub w_range: (f64, f64),
    /// Smallest and largest n − 1 over the image.
    pub nm1_range: (f64, f64),
}

/// The parameters of one gridding run.
#[derive(Debug, Clone, PartialEq)]
pub struct GridParams {
    /// Kernel support W (cells).
    pub support: usize,
    /// Kernel shape β.
    pub beta: f64,
    /// Requested oversampling σ (the grid is at least σ × image).
    pub sigma: f64,
    /// Grid width (u cells).
    pub nu: usize,
    /// Grid height (v cells).
    pub nv: usize,
    /// Number of w-planes (1 without w-stacking).
    pub n_planes: usize,
    /// w of plane 0 (wavelengths).
    pub w0: f64,
    /// Plane spacing (wavelengths).
    pub dw: f64,
    /// Centre of the image's n − 1 range: its phase is applied to each visibility so
    /// the planes only need to resolve half the range.
    pub nm1_centre: f64,
    /// Tile size (cells) of the visibility buckets.
    pub tile: usize,
    /// Estimated relative error of the kernel.
    pub estimated_error: f64,
    /// Model cost (arbitrary units) of the chosen parameters.
    pub cost: f64,
}

/// Smallest size ≥ `n` that is a multiple of [`TILE`] and has no prime factor above 5.
pub fn good_size(n: usize) -> usize {
    let mut m = n.max(TILE).div_ceil(TILE) * TILE;
    loop {
        let mut r = m;
        for p in [2, 3, 5] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        if r == 1 {
            return m;
        }
        m += TILE;
    }
}

// Model costs in nanoseconds, measured on the 2 M-visibility SKA-Low bench (f32, one
// thread, Xeon with AVX-512): 1.05 ns per kernel point, ≈ 20 ns per visibility and plane
// for coordinates and weights, 0.36 ns per grid point and log2 of the grid size for the
// FFT, ≈ 2 ns per grid point and plane for clearing and accumulating.
/// Cost of one kernel point, per visibility (a complex multiply-add).
const COST_KERNEL: f64 = 1.05;
/// Cost per visibility and plane independent of W (coordinates, kernel weights).
const COST_VIS: f64 = 20.0;
/// Cost of an FFT, per grid point and log2 of the grid size.
const COST_FFT: f64 = 0.36;
/// Cost per grid point of each w-plane besides its FFT (clearing, phases, accumulation).
const COST_PLANE: f64 = 2.0;

/// The most w-planes a plan may have: more means a w range no telescope makes (a file's
/// uvw or frequencies are wrong) and hours of FFTs.
pub const MAX_W_PLANES: usize = 1 << 16;

/// Chooses the parameters for `inp`, or says why it cannot.
pub fn choose(inp: &ParamInputs) -> Result<GridParams, GridError> {
    let eps = inp.epsilon;
    if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
        return Err(GridError::InvalidConfig {
            field: "epsilon",
            value: format!("{eps}"),
            expected: "0 < epsilon < 1".into(),
        });
    }
    if eps < inp.precision.min_epsilon() {
        return Err(GridError::Unreachable {
            epsilon: eps,
            precision: inp.precision.name(),
            limit: inp.precision.min_epsilon(),
        });
    }
    let dims: f64 = if inp.wstacking { 3.0 } else { 2.0 };
    let target = 0.5 * eps;
    let n_vis = inp.n_vis.max(1) as f64;
    let x_range = (inp.nm1_range.1 - inp.nm1_range.0).abs();
    let mut best: Option<GridParams> = None;
    for (si, &sigma) in SIGMAS.iter().enumerate() {
        let error = |w: usize| {
            let (_, alias, gain) = table(w, si);
            dims.sqrt() * alias + inp.precision.rounding() * gain.powf(dims)
        };
        let Some(w) = (MIN_SUPPORT..=MAX_SUPPORT).find(|&w| error(w) <= target) else {
            continue;
        };
        let beta = table(w, si).0;
        // Whole tiles on both axes (the tile loops and the w-planes' bands rely on it),
        // and room for the kernel.
        let nu = good_size(((sigma * inp.npix_x as f64).ceil() as usize).max(2 * w));
        let nv = good_size(((sigma * inp.npix_y as f64).ceil() as usize).max(2 * w));
        let (n_planes, w0, dw) = if inp.wstacking {
            w_planes(w, sigma, inp.w_range, x_range)
        } else {
            (1, 0.0, 1.0)
        };
        if n_planes > MAX_W_PLANES {
            return Err(GridError::InvalidConfig {
                field: "w range",
                value: format!(
                    "{:.4e} to {:.4e} wavelengths over a field of n − 1 range {x_range:.3e}",
                    inp.w_range.0, inp.w_range.1
                ),
                expected: format!(
                    "at most {MAX_W_PLANES} w-planes (this needs {n_planes}): check the uvw and frequencies, or image a smaller field"
                ),
            });
        }
        let grid_points = (nu * nv) as f64;
        let kernel_points = (w * w) as f64 * if inp.wstacking { w as f64 } else { 1.0 };
        let per_vis = if inp.wstacking { w as f64 } else { 1.0 };
        // f64 doubles the FFT's memory traffic and work per point, and costs the kernel
        // about a third more (measured on the same bench).
        let (k_scale, f_scale) = match inp.precision {
            Precision::F32 => (1.0, 1.0),
            Precision::F64 => (1.3, 2.0),
        };
        let cost = n_vis * (k_scale * COST_KERNEL * kernel_points + COST_VIS * per_vis)
            + n_planes as f64
                * grid_points
                * (f_scale * COST_FFT * grid_points.log2() + COST_PLANE);
        let candidate = GridParams {
            support: w,
            beta,
            sigma,
            nu,
            nv,
            n_planes,
            w0,
            dw,
            nm1_centre: 0.5 * (inp.nm1_range.0 + inp.nm1_range.1),
            tile: TILE,
            estimated_error: error(w),
            cost,
        };
        if best.as_ref().is_none_or(|b| candidate.cost < b.cost) {
            best = Some(candidate);
        }
    }
    best.ok_or(GridError::Unreachable {
        epsilon: eps,
        precision: inp.precision.name(),
        limit: inp.precision.min_epsilon(),
    })
}

/// Number of planes, w of plane 0 and plane spacing for kernel support `w`, oversampling
/// `sigma`, w range (wavelengths, w ≥ 0) and width of the image's n − 1 range. The phase
/// of the range's centre is taken out first, so a plane spacing of `1 / (σ · range)` keeps
/// the residual w-phase inside the kernel's pass band; planes extend `W/2` spacings beyond
/// the data on each side.
pub fn w_planes(w: usize, sigma: f64, w_range: (f64, f64), x_range: f64) -> (usize, f64, f64) {
    let span = (w_range.1 - w_range.0).max(0.0);
    // A field with no n − 1 range (a single pixel) needs one spacing covering everything.
    let dw = if x_range > 0.0 {
        1.0 / (sigma * x_range)
    } else {
        span.max(1.0)
    };
    let half = 0.5 * w as f64;
    // The smallest w sits half a plane inside plane 0's reach, so rounding cannot push
    // its first plane below 0.
    let w0 = w_range.0 - (half - 0.5) * dw;
    // The largest first plane any w can touch (with a rounding margin), plus the
    // kernel's W planes.
    let z_max = (w_range.1 - w0) / dw;
    // Saturating (a NaN range gives 0): absurd ranges are refused by the caller.
    let first_max = ((z_max - half + 1e-6).floor() as i64).saturating_add(1);
    let n = (first_max.max(0) as usize).saturating_add(w);
    (n, w0, dw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(eps: f64, precision: Precision, wstacking: bool) -> ParamInputs {
        ParamInputs {
            epsilon: eps,
            precision,
            npix_x: 2048,
            npix_y: 2048,
            cell_x_rad: 2.8e-5,
            cell_y_rad: 2.8e-5,
            n_vis: 2_000_000,
            wstacking,
            w_range: (0.0, 7800.0),
            nm1_range: (-8.2e-4, 0.0),
        }
    }

    #[test]
    fn table_entries_are_reproducible() {
        for (w, si) in [(4usize, 0usize), (7, 4), (11, 8), (16, 16)] {
            let (beta, err, gain) = optimise_kernel(w, SIGMAS[si]);
            let (tb, te, tg) = table(w, si);
            assert!((gain - tg).abs() < 1e-9 * gain);
            assert!(
                (beta - tb).abs() < 1e-9 * beta,
                "W {w}: β {beta} vs table {tb}"
            );
            assert!(
                (err - te).abs() < 1e-6 * err,
                "W {w}: error {err} vs table {te}"
            );
        }
    }

    /// The table's error estimates resolve the oscillation of the aliasing error in ξ: a
    /// four times finer sampling changes none of them by more than 10 %.
    #[test]
    fn table_errors_are_sampled_finely_enough() {
        for w in MIN_SUPPORT..=MAX_SUPPORT {
            for (si, &sigma) in SIGMAS.iter().enumerate().step_by(4) {
                let (beta, err, _) = table(w, si);
                let (fine, _) = EsKernel::new(w, beta).aliasing_error_with(sigma, 512);
                assert!(
                    (fine / err - 1.0).abs() < 0.1,
                    "W {w} σ {sigma}: {err:e} tabulated, {fine:e} finely sampled"
                );
            }
        }
    }

    /// Prints the kernel table (`cargo test --release kernel_table -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn kernel_table() {
        println!("/// β, one-dimensional RMS aliasing error and correction gain for W = {MIN_SUPPORT}..={MAX_SUPPORT}");
        println!("/// (rows) and σ in [`SIGMAS`] (columns), from [`optimise_kernel`].");
        println!(
            "pub const KERNEL_TABLE: [[(f64, f64, f64); {}]; {}] = [",
            SIGMAS.len(),
            MAX_SUPPORT - MIN_SUPPORT + 1
        );
        for w in MIN_SUPPORT..=MAX_SUPPORT {
            println!("    [");
            for &s in &SIGMAS {
                let (b, e, g) = optimise_kernel(w, s);
                println!("        ({b:?}, {e:?}, {g:?}),");
            }
            println!("    ],");
        }
        println!("];");
    }

    #[test]
    fn smaller_epsilon_needs_wider_kernels() {
        let mut last = 0;
        for eps in [1e-2, 1e-3, 1e-4, 1e-5] {
            let p = choose(&inputs(eps, Precision::F32, false)).unwrap();
            assert!(p.support >= last);
            assert!(p.estimated_error <= eps);
            last = p.support;
        }
        let p = choose(&inputs(1e-12, Precision::F64, true)).unwrap();
        assert!(p.support >= 12 && p.estimated_error <= 1e-12);
    }

    #[test]
    fn grid_sizes_are_fft_friendly_tile_multiples() {
        for n in [1, 17, 100, 2049, 3000, 2869] {
            let g = good_size(n);
            assert!(g >= n && g.is_multiple_of(TILE));
        }
        assert_eq!(good_size(2880), 2880);
        let p = choose(&inputs(1e-4, Precision::F32, false)).unwrap();
        assert!(p.nu as f64 >= p.sigma * 2048.0 && p.nu.is_multiple_of(TILE));
    }

    #[test]
    fn unreachable_and_invalid_epsilon_are_errors() {
        assert!(matches!(
            choose(&inputs(1e-7, Precision::F32, false)),
            Err(GridError::Unreachable { .. })
        ));
        assert!(matches!(
            choose(&inputs(1e-15, Precision::F64, false)),
            Err(GridError::Unreachable { .. })
        ));
        for bad in [0.0, -1e-3, f64::NAN, 1.0] {
            assert!(matches!(
                choose(&inputs(bad, Precision::F64, false)),
                Err(GridError::InvalidConfig { .. })
            ));
        }
    }

    #[test]
    fn w_planes_cover_the_w_range() {
        let (n, w0, dw) = w_planes(8, 1.5, (100.0, 7800.0), 8e-4);
        assert!((dw - 1.0 / (1.5 * 8e-4)).abs() < 1e-9);
        for w in [100.0, 3000.0, 7800.0] {
            let z = (w - w0) / dw;
            let first = (z - 4.0).floor() as i64 + 1;
            assert!(
                first >= 0 && first as usize + 8 <= n,
                "w {w}: first {first}, n {n}"
            );
        }
    }
}
