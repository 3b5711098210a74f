//! Stage timings of the gridder on the anchor data set (best of N calls), for profiling,
//! and the wall time of the whole call (best of N), for side-by-side runs with
//! `bench/compare/grid_ducc0.py`:
//!
//! ```text
//! python bench/compare/make_grid_data.py --out /tmp/skalow.h5 --nvis 2000000 --seed 1234
//! cargo run --release --example grid_profile -- /tmp/skalow.h5 f32 1e-4 nw 5
//! ```
//!
//! Arguments: data file, precision (f32|f64), ε, `w` or `nw` (w-stacking on or off),
//! repetitions, and optionally `grid` or `degrid` to run one direction only (for peak-memory
//! measurements with `/usr/bin/time -v`). Threads: `RAYON_NUM_THREADS`.

use fxgrid::grid::{GridConfig, GridFloat, GridPlan, GridWorkspace, StageTimes};
use fxgrid::ndarray::{Array1, Array2};
use fxgrid::num_complex::{Complex, Complex32};
use std::time::Instant;

fn best(a: &mut Option<StageTimes>, t: StageTimes) {
    let b = a.get_or_insert(t);
    b.bucket_s = b.bucket_s.min(t.bucket_s);
    b.grid_s = b.grid_s.min(t.grid_s);
    b.reorder_s = b.reorder_s.min(t.reorder_s);
    b.fft_s = b.fft_s.min(t.fft_s);
    b.correct_s = b.correct_s.min(t.correct_s);
    b.total_s = b.total_s.min(t.total_s);
}

fn run<T: GridFloat>(
    uvw: &Array2<f64>,
    freq: &[f64],
    vis: Array2<Complex32>,
    cfg: &GridConfig,
    n: usize,
    only: Option<&str>,
) {
    // Converted, then the input dropped: only one copy is alive while gridding.
    let vis = vis.mapv(|v| Complex::new(T::of_f64(v.re as f64), T::of_f64(v.im as f64)));
    let dirty = if only == Some("grid") {
        Array2::zeros((0, 0))
    } else {
        Array2::from_shape_fn((cfg.npix_y, cfg.npix_x), |(r, c)| {
            T::of_f64(((r * 31 + c * 17) % 97) as f64 / 97.0 - 0.5)
        })
    };
    let (mut g, mut d) = (None, None);
    let (mut wall_g, mut wall_d) = (f64::INFINITY, f64::INFINITY);
    // One workspace for all calls (the uv grid kept, as an imager keeps it); each call
    // makes its plan, so the bucketing is timed as part of the call.
    let mut ws = GridWorkspace::<T>::new();
    let plan = || GridPlan::<T>::new(cfg, uvw.view(), freq, None, None).unwrap();
    for _ in 0..n {
        if only != Some("degrid") {
            let t0 = Instant::now();
            let p = plan();
            let (_, mut rep) = p.vis2dirty(vis.view(), &mut ws).unwrap();
            rep.times.add_plan(p.plan_seconds());
            wall_g = wall_g.min(t0.elapsed().as_secs_f64());
            best(&mut g, rep.times);
            println!("# params {:?}", rep.params);
        }
        if only != Some("grid") {
            let t0 = Instant::now();
            let p = plan();
            let (_, mut rep) = p.dirty2vis(dirty.view(), &mut ws).unwrap();
            rep.times.add_plan(p.plan_seconds());
            wall_d = wall_d.min(t0.elapsed().as_secs_f64());
            best(&mut d, rep.times);
        }
    }
    let nvis = vis.len() as f64;
    for (name, t, wall) in [("grid", g, wall_g), ("degrid", d, wall_d)] {
        let Some(t) = t else { continue };
        println!(
            "{name}: wall {wall:.4} s ({:.2} Mvis/s); stages: total {:.4} = bucket {:.4} + reorder {:.4} + kernel {:.4} + fft {:.4} + correct {:.4} (+ rest)",
            nvis / wall / 1e6,
            t.total_s,
            t.bucket_s,
            t.reorder_s,
            t.grid_s,
            t.fft_s,
            t.correct_s
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: grid_profile DATA.h5 f32|f64 EPS w|nw REPEATS");
        std::process::exit(2);
    }
    let f = hdf5::File::open(&args[1]).expect("open data file");
    let uvw: Array2<f64> = f.dataset("uvw_m").unwrap().read_2d().unwrap();
    let freq: Array1<f64> = f.dataset("freq_hz").unwrap().read_1d().unwrap();
    let vis: Array2<Complex32> = f.dataset("vis").unwrap().read_2d().unwrap();
    let npix = f.attr("npix").unwrap().read_scalar::<i64>().unwrap() as usize;
    let pix: f64 = f.attr("pixsize_rad").unwrap().read_scalar().unwrap();
    let eps: f64 = args[3].parse().expect("epsilon");
    let cfg = GridConfig {
        wstacking: args[4] == "w",
        ..GridConfig::new(npix, npix, pix, eps)
    };
    let n: usize = args[5].parse().expect("repeats");
    let only = args.get(6).map(|s| s.as_str());
    match args[2].as_str() {
        "f32" => run::<f32>(&uvw, freq.as_slice().unwrap(), vis, &cfg, n, only),
        _ => run::<f64>(&uvw, freq.as_slice().unwrap(), vis, &cfg, n, only),
    }
}
