//! The major-cycle driver against an exact image-domain "imager".

use ndarray::{Array2, ArrayView2};

use super::*;
use crate::progress::NoProgress;

/// A physical PSF (the transform of non-negative weights at random uv points, so CLEAN
/// converges on it) tabulated at every offset `[-N, N)²`: exact residuals are known.
struct Table {
    n: usize,
    psf: Array2<f32>,
}

impl Table {
    fn new(n: usize) -> Self {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let g = Normal::new(0.0f64, 0.07).unwrap();
        let uv: Vec<(f64, f64)> = (0..2000)
            .map(|_| (g.sample(&mut rng), g.sample(&mut rng)))
            .collect();
        let psf = Array2::from_shape_fn((2 * n, 2 * n), |(y, x)| {
            let (dy, dx) = (y as f64 - n as f64, x as f64 - n as f64);
            let s: f64 = uv
                .iter()
                .map(|&(u, v)| (std::f64::consts::TAU * (u * dx + v * dy)).cos())
                .sum();
            (s / uv.len() as f64) as f32
        });
        Table { n, psf }
    }

    fn at(&self, dy: isize, dx: isize) -> f32 {
        self.psf[[
            (dy + self.n as isize) as usize,
            (dx + self.n as isize) as usize,
        ]]
    }

    /// The PSF image of an `n × n` map (peak at `(n/2, n/2)`).
    fn image(&self) -> Array2<f32> {
        let c = (self.n / 2) as isize;
        Array2::from_shape_fn((self.n, self.n), |(y, x)| {
            self.at(y as isize - c, x as isize - c)
        })
    }

    /// `Σ model ⊛ psf` over the map.
    fn convolve(&self, model: &[(usize, usize, f32)]) -> Array2<f32> {
        let mut img = Array2::zeros((self.n, self.n));
        for &(y, x, s) in model {
            for ((r, c), v) in img.indexed_iter_mut() {
                *v += s * self.at(r as isize - y as isize, c as isize - x as isize);
            }
        }
        img
    }
}

/// Residuals from the exact PSF: `dirty − psf ⊛ model` over the whole image.
struct Exact {
    table: Table,
    dirty: Array2<f32>,
    calls: usize,
}

impl Exact {
    fn of(n: usize, sources: &[(usize, usize, f32)]) -> Self {
        let table = Table::new(n);
        let dirty = table.convolve(sources);
        Exact {
            table,
            dirty,
            calls: 0,
        }
    }

    fn psf(&self, half: usize) -> Psf {
        Psf::new(self.table.image().view(), Some(half)).unwrap()
    }
}

impl ResidualImager for Exact {
    fn residual(&mut self, model: ArrayView2<'_, f32>) -> Result<Array2<f32>, DeconvolveError> {
        self.calls += 1;
        let comps: Vec<(usize, usize, f32)> = model
            .indexed_iter()
            .filter(|(_, &s)| s != 0.0)
            .map(|((y, x), &s)| (y, x, s))
            .collect();
        Ok(&self.dirty - &self.table.convolve(&comps))
    }
}

/// The model flux within two pixels of `(y, x)`.
fn near(model: &Array2<f32>, y: usize, x: usize) -> f32 {
    model.slice(ndarray::s![y - 2..=y + 2, x - 2..=x + 2]).sum()
}

#[test]
fn major_cycles_recover_point_sources_with_a_truncated_patch() {
    let n = 80;
    let sources = [
        (20, 22, 3.0),
        (24, 60, 1.0),
        (50, 50, 0.3),
        (70, 10, -0.2),
        (40, 41, 0.05),
    ];
    let mut imager = Exact::of(n, &sources);
    let p = imager.psf(20); // far sidelobes outside the patch: the major cycles must fix them
    assert!(p.far_sidelobe() > 0.01);
    let cfg = CleanConfig {
        niter: 100_000,
        threshold_jy: 1e-3,
        ..Default::default()
    };
    let dirty = imager.dirty.clone();
    let out = clean(dirty, &p, &cfg, &mut imager, &NoProgress).unwrap();
    assert_eq!(out.report.stop, StopReason::Threshold, "{:?}", out.report);
    assert!(out.report.peak <= 1e-3);
    assert!(out.report.cycles.len() >= 3, "{:?}", out.report.cycles);
    assert_eq!(imager.calls, out.report.cycles.len());
    for &(y, x, s) in &sources {
        let got = near(&out.model, y, x);
        assert!(
            (got - s).abs() < 1e-2 * s.abs().max(0.1),
            "({y},{x}) {got} vs {s}"
        );
    }
    let total: f32 = sources.iter().map(|s| s.2).sum();
    assert!(
        (out.report.model_flux_jy as f32 - total).abs() < 1e-2 * total,
        "{}",
        out.report.model_flux_jy
    );
}

#[test]
fn stops_on_iterations_and_major_cycles() {
    let n = 48;
    let sources = [(20, 22, 1.0), (30, 30, 0.5)];
    let mut imager = Exact::of(n, &sources);
    let p = imager.psf(10);
    let cfg = CleanConfig {
        niter: 5,
        ..Default::default()
    };
    let out = clean(imager.dirty.clone(), &p, &cfg, &mut imager, &NoProgress).unwrap();
    assert_eq!(
        (out.report.stop, out.report.iterations),
        (StopReason::Iterations, 5)
    );
    let cfg = CleanConfig {
        niter: 100_000,
        max_major: 2,
        mgain: 0.3,
        ..Default::default()
    };
    let out = clean(imager.dirty.clone(), &p, &cfg, &mut imager, &NoProgress).unwrap();
    assert_eq!(
        (out.report.stop, out.report.cycles.len()),
        (StopReason::MajorCycles, 2)
    );
}

#[test]
fn auto_threshold_and_auto_mask_follow_the_noise() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let n = 96;
    let sources = [(30, 30, 2.0), (60, 70, 0.5)];
    let mut imager = Exact::of(n, &sources);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let noise = Normal::new(0.0f32, 0.01).unwrap();
    imager.dirty.mapv_inplace(|v| v + noise.sample(&mut rng));
    let p = imager.psf(16);
    let cfg = CleanConfig {
        niter: 100_000,
        auto_threshold: Some(3.0),
        ..Default::default()
    };
    let out = clean(imager.dirty.clone(), &p, &cfg, &mut imager, &NoProgress).unwrap();
    assert_eq!(out.report.stop, StopReason::Threshold);
    assert!(
        (out.report.sigma - 0.01).abs() < 0.002,
        "{}",
        out.report.sigma
    );
    assert!(
        out.report.peak <= 3.2 * out.report.sigma + 1e-3,
        "{:?}",
        out.report
    );
    // With a mask at 6σ, the deeper cleaning stays where the bright components are.
    let cfg = CleanConfig {
        auto_mask: Some(6.0),
        ..cfg
    };
    let masked = clean(imager.dirty.clone(), &p, &cfg, &mut imager, &NoProgress).unwrap();
    assert!(masked.report.cycles.iter().any(|c| c.masked));
    assert!(
        masked.report.components < out.report.components,
        "{} vs {}",
        masked.report.components,
        out.report.components
    );
    eprintln!("{:?}\n{:?}", out.report, masked.report);
    for &(y, x, s) in &sources {
        let got = near(&masked.model, y, x);
        assert!((got - s).abs() < 0.05 * s, "{got} vs {s}");
    }
}

/// Residuals that grow: the data are made worse by every model.
struct Growing(Exact, f32);

impl ResidualImager for Growing {
    fn residual(&mut self, _: ArrayView2<'_, f32>) -> Result<Array2<f32>, DeconvolveError> {
        self.1 *= 1.5;
        Ok(self.0.dirty.mapv(|v| v * self.1))
    }
}

#[test]
fn a_diverging_clean_stops_and_says_so() {
    let imager = Exact::of(32, &[(10, 10, 1.0)]);
    let p = imager.psf(8);
    let dirty = imager.dirty.clone();
    let cfg = CleanConfig {
        niter: 100_000,
        ..Default::default()
    };
    let out = clean(dirty, &p, &cfg, &mut Growing(imager, 1.0), &NoProgress).unwrap();
    assert_eq!(out.report.stop, StopReason::Diverged, "{:?}", out.report);
    assert_eq!(out.report.cycles.len(), 3);
}

#[test]
fn bad_parameters_are_refused() {
    let ok = CleanConfig::default();
    assert!(ok.validate().is_ok());
    for bad in [
        CleanConfig {
            gain: 0.0,
            ..ok.clone()
        },
        CleanConfig {
            gain: 1.5,
            ..ok.clone()
        },
        CleanConfig {
            mgain: f64::NAN,
            ..ok.clone()
        },
        CleanConfig {
            threshold_jy: -1.0,
            ..ok.clone()
        },
        CleanConfig {
            auto_threshold: Some(-3.0),
            ..ok.clone()
        },
        CleanConfig {
            auto_threshold: Some(3.0),
            auto_mask: Some(2.0),
            ..ok.clone()
        },
        CleanConfig {
            auto_mask: Some(5.0),
            ..ok.clone()
        },
        CleanConfig {
            max_major: 0,
            ..ok.clone()
        },
    ] {
        assert!(
            matches!(bad.validate(), Err(DeconvolveError::InvalidConfig { .. })),
            "{bad:?}"
        );
    }
}
