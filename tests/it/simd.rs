//! SIMD levels forced through `FXGRID_SIMD`: each level the CPU has gives the results of
//! the portable kernels (to rounding; integer products exactly), and a level it lacks is
//! an error that names it. Each level runs in a child process (this test binary run
//! again for this test alone), since the variable is read when plans are made.

use std::process::Command;

use fxgrid::channelise::{Pfb, PfbConfig};
use fxgrid::correlate::{Correlator, CorrelatorConfig};
use fxgrid::grid::{vis2dirty, GridConfig};
use fxgrid::ndarray::Array2;
use fxgrid::num_complex::{Complex, Complex32, Complex64};
use fxgrid::SimdLevel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TEST: &str = "simd::each_level_forced_by_fxgrid_simd_gives_the_portable_results";
const CHILD: &str = "FXGRID_SIMD_TEST_OUT";

/// What a child computes: the level each plan reports and the outputs of each engine.
#[derive(Debug, PartialEq)]
struct Outputs {
    levels: Vec<String>,
    pfb: Vec<f64>,
    x_f32: Vec<f64>,
    x_i8: Vec<f64>,
    grid: Vec<f64>,
}

fn flat(v: impl IntoIterator<Item = Complex32>) -> Vec<f64> {
    v.into_iter()
        .flat_map(|c| [c.re as f64, c.im as f64])
        .collect()
}

fn compute() -> Result<Outputs, fxgrid::Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // A critically sampled PFB (the AVX-512 sliding fold's case) and an oversampled one.
    let x: Vec<Complex32> = (0..40_000)
        .map(|_| Complex::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
        .collect();
    let mut pfb_out = Vec::new();
    let mut levels = Vec::new();
    for os in [(1, 1), (32, 27)] {
        let pfb = Pfb::new(&PfbConfig {
            n_chan: 256,
            n_taps: 8,
            oversampling: os,
            ..Default::default()
        })?;
        levels.push(pfb.simd().name().to_string());
        let mut out = Vec::new();
        pfb.process(&mut pfb.new_state(), &x, &mut out)?;
        pfb_out.extend(flat(out));
    }
    // The correlator, float and int8 input: 24 antennas, 4 channels, 64 spectra.
    let cfg = CorrelatorConfig {
        n_ant: 24,
        n_chan: 4,
        int_spectra: 64,
        f64_accumulation: false,
        scale: 1.0,
        flagged_inputs: vec![],
        simd: None,
    };
    let corr = Correlator::new(&cfg)?;
    levels.push(corr.simd().name().to_string());
    let n = 64 * 4 * 48;
    let xf: Vec<Complex32> = (0..n)
        .map(|_| Complex::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
        .collect();
    let xi: Vec<Complex<i8>> = (0..n)
        .map(|_| Complex::new(rng.random_range(-100..100), rng.random_range(-100..100)))
        .collect();
    let products = |ints: Vec<fxgrid::correlate::Integration>| -> Vec<f64> {
        ints.into_iter()
            .flat_map(|i| i.products.into_iter().flatten())
            .flat_map(|c| [c.re as f64, c.im as f64])
            .collect()
    };
    let x_f32 = products(corr.push(&mut corr.new_state(), &xf)?);
    let x_i8 = products(corr.push(&mut corr.new_state(), &xi)?);
    // The gridder in f64 with w-stacking.
    let gcfg = GridConfig {
        wstacking: true,
        ..GridConfig::new(64, 64, 2e-3, 1e-9)
    };
    let uvw = Array2::from_shape_fn((500, 3), |(_, k)| {
        rng.random_range(-1.0..1.0) * if k < 2 { 400.0 } else { 50.0 }
    });
    let vis = Array2::from_shape_fn((500, 2), |_| {
        Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0))
    });
    let (dirty, _) = vis2dirty(&gcfg, uvw.view(), &[1.0e8, 1.2e8], vis.view(), None, None)?;
    Ok(Outputs {
        levels,
        pfb: pfb_out,
        x_f32,
        x_i8,
        grid: dirty.iter().copied().collect(),
    })
}

fn encode(o: &Outputs) -> String {
    let nums = |v: &[f64]| {
        v.iter()
            .map(|x| x.to_bits().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    [
        o.levels.join(" "),
        nums(&o.pfb),
        nums(&o.x_f32),
        nums(&o.x_i8),
        nums(&o.grid),
    ]
    .join("\n")
}

fn decode(s: &str) -> Outputs {
    let lines: Vec<&str> = s.lines().collect();
    let nums = |l: &str| -> Vec<f64> {
        l.split_whitespace()
            .map(|t| f64::from_bits(t.parse().unwrap()))
            .collect()
    };
    Outputs {
        levels: lines[0].split_whitespace().map(String::from).collect(),
        pfb: nums(lines[1]),
        x_f32: nums(lines[2]),
        x_i8: nums(lines[3]),
        grid: nums(lines[4]),
    }
}

fn rel_l2(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

#[test]
fn each_level_forced_by_fxgrid_simd_gives_the_portable_results() {
    if let Ok(out) = std::env::var(CHILD) {
        let text = match compute() {
            Ok(o) => encode(&o),
            Err(e) => format!("error: {e}"),
        };
        std::fs::write(out, text).unwrap();
        return;
    }
    // The children would inherit any HDF5 file another test holds open, and its lock.
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let run = |level: &str| -> String {
        let out = dir.path().join(level);
        let status = Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--test-threads=1"])
            .env("FXGRID_SIMD", level)
            .env(CHILD, &out)
            .output()
            .unwrap();
        assert!(status.status.success(), "{level}: {status:?}");
        std::fs::read_to_string(out).unwrap()
    };
    let portable = decode(&run("portable"));
    assert!(portable.levels.iter().all(|l| l == "portable"));
    for level in SimdLevel::ALL {
        let text = run(level.name());
        if !level.is_supported() {
            assert!(
                text.starts_with("error:")
                    && text.contains(level.name())
                    && text.contains("FXGRID_SIMD"),
                "{level}: {text}"
            );
            continue;
        }
        let o = decode(&text);
        assert!(
            o.levels.iter().all(|l| l == level.name()),
            "{level}: plans report {:?}",
            o.levels
        );
        // f32 sums in another order or with FMA: a few roundings of 2^-24 apart.
        assert!(rel_l2(&o.pfb, &portable.pfb) <= 1e-6, "{level} PFB");
        assert!(rel_l2(&o.x_f32, &portable.x_f32) <= 1e-6, "{level} X f32");
        assert_eq!(o.x_i8, portable.x_i8, "{level} X int8 (exact integer sums)");
        assert!(
            rel_l2(&o.grid, &portable.grid) <= 1e-12,
            "{level} gridder f64"
        );
    }
    // A name that is no level is an error too.
    let text = run("sse9");
    assert!(
        text.starts_with("error:") && text.contains("sse9"),
        "{text}"
    );
}
