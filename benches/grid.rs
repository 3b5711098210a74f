//! Gridding and degridding throughput (visibilities per second, whole call: visibilities
//! in to dirty image out, FFTs and corrections included, or the reverse). Each call makes
//! its `GridPlan` (validation, parameter choice, bucketing) and runs it with a
//! `GridWorkspace` kept between calls, as an imager that grids many blocks does.
//!
//! Workload: 2 M visibilities of an SKA-Low-like array onto 2048², ε 1e-4 (f32) and 1e-7
//! (f64), w-stacking off and on, at 1 and 2 threads. To run on exactly the data of the
//! comparison script `bench/compare/grid_ducc0.py`, write it with
//!
//! ```text
//! python bench/compare/make_grid_data.py --out /tmp/skalow.h5 --nvis 2000000 --seed 1234
//! FXGRID_GRID_DATA=/tmp/skalow.h5 cargo bench --bench grid
//! ```
//!
//! Without `FXGRID_GRID_DATA` a synthetic data set of the same size is made here.
//! `FXGRID_BENCH_THREADS` (default `1,2`) and `FXGRID_BENCH_CONFIGS` (default
//! `f32:1e-4,f64:1e-7`) select the rows.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Mutex;

use fxgrid::grid::{GridConfig, GridFloat, GridPlan, GridWorkspace};
use fxgrid::ndarray::{Array1, Array2};
use fxgrid::num_complex::{Complex, Complex32};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Data {
    uvw: Array2<f64>,
    freq: Vec<f64>,
    vis: Array2<Complex32>,
    npix: usize,
    pixsize: f64,
}

#[cfg(feature = "hdf5")]
fn read(path: &str) -> Data {
    let f = hdf5::File::open(path).expect("open FXGRID_GRID_DATA");
    let uvw: Array2<f64> = f.dataset("uvw_m").unwrap().read_2d().unwrap();
    let freq: Array1<f64> = f.dataset("freq_hz").unwrap().read_1d().unwrap();
    let vis: Array2<Complex32> = f.dataset("vis").unwrap().read_2d().unwrap();
    let npix: i64 = f.attr("npix").unwrap().read_scalar().unwrap();
    let pixsize: f64 = f.attr("pixsize_rad").unwrap().read_scalar().unwrap();
    Data {
        uvw,
        freq: freq.to_vec(),
        vis,
        npix: npix as usize,
        pixsize,
    }
}

#[cfg(not(feature = "hdf5"))]
fn read(_: &str) -> Data {
    panic!("reading FXGRID_GRID_DATA needs the hdf5 feature")
}

/// 250 000 rows × 8 channels: baselines of a centrally condensed 20 km array, w up to
/// about half of |u, v|, and a 2048² image at Nyquist sampling.
fn synthetic() -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(1234);
    let nrow = 250_000;
    let freq: Vec<f64> = (0..8)
        .map(|k| 150e6 + (k as f64 - 3.5) * 781_250.0)
        .collect();
    let uvw = Array2::from_shape_fn((nrow, 3), |_| 0.0);
    let mut uvw = uvw;
    for mut row in uvw.rows_mut() {
        let r = 40_000.0 * rng.random::<f64>().powi(3);
        let th = rng.random_range(0.0..std::f64::consts::TAU);
        row[0] = r * th.cos();
        row[1] = r * th.sin();
        row[2] = rng.random_range(-0.5..0.5) * r;
    }
    let vis = Array2::from_shape_fn((nrow, 8), |_| {
        Complex::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0))
    });
    let umax = 40_000.0 * freq[7] / 299_792_458.0;
    Data {
        uvw,
        freq,
        vis,
        npix: 2048,
        pixsize: 0.5 / (umax * 1.02),
    }
}

fn run<T: GridFloat>(c: &mut Criterion, d: &Data, name: &str, eps: f64, threads: &[usize]) {
    let vis = d
        .vis
        .mapv(|v| Complex::new(T::of_f64(v.re as f64), T::of_f64(v.im as f64)));
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let dirty = Array2::from_shape_fn((d.npix, d.npix), |_| T::of_f64(rng.random_range(-1.0..1.0)));
    let mut group = c.benchmark_group("grid");
    group.sample_size(10);
    group.throughput(Throughput::Elements(d.vis.len() as u64));
    for wstacking in [false, true] {
        let cfg = GridConfig {
            wstacking,
            ..GridConfig::new(d.npix, d.npix, d.pixsize, eps)
        };
        for &nt in threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(nt)
                .build()
                .unwrap();
            let tag = format!(
                "{name}/eps{eps:e}/{}/{nt}thr",
                if wstacking { "w" } else { "nw" }
            );
            let ws = Mutex::new(GridWorkspace::<T>::new());
            let plan = || GridPlan::<T>::new(&cfg, d.uvw.view(), &d.freq, None, None).unwrap();
            let grid = || {
                plan()
                    .vis2dirty(vis.view(), &mut ws.lock().unwrap())
                    .unwrap()
            };
            let degrid = || {
                plan()
                    .dirty2vis(dirty.view(), &mut ws.lock().unwrap())
                    .unwrap()
            };
            pool.install(|| {
                // Stage times of one call, making the plan included.
                let p = plan();
                let (_, mut rep) = p.vis2dirty(vis.view(), &mut ws.lock().unwrap()).unwrap();
                rep.times.add_plan(p.plan_seconds());
                eprintln!("# {tag}: {:?}", rep.params);
                eprintln!("# {tag} grid stages: {:?}", rep.times);
                let (_, mut rep) = p.dirty2vis(dirty.view(), &mut ws.lock().unwrap()).unwrap();
                rep.times.add_plan(p.plan_seconds());
                eprintln!("# {tag} degrid stages: {:?}", rep.times);
            });
            group.bench_function(format!("vis2dirty/{tag}"), |b| {
                b.iter(|| pool.install(grid))
            });
            group.bench_function(format!("dirty2vis/{tag}"), |b| {
                b.iter(|| pool.install(degrid))
            });
        }
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let d = match std::env::var("FXGRID_GRID_DATA") {
        Ok(p) => read(&p),
        Err(_) => synthetic(),
    };
    let threads: Vec<usize> = std::env::var("FXGRID_BENCH_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .map(|t| t.trim().parse().expect("FXGRID_BENCH_THREADS: numbers"))
        .collect();
    let configs =
        std::env::var("FXGRID_BENCH_CONFIGS").unwrap_or_else(|_| "f32:1e-4,f64:1e-7".into());
    for cfg in configs.split(',') {
        let (prec, eps) = cfg.split_once(':').expect("FXGRID_BENCH_CONFIGS: prec:eps");
        let eps: f64 = eps.parse().expect("epsilon");
        match prec {
            "f32" => run::<f32>(c, &d, "f32", eps, &threads),
            "f64" => run::<f64>(c, &d, "f64", eps, &threads),
            other => panic!("unknown precision {other}"),
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
