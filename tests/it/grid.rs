//! Gridder and degridder against the direct Fourier sums, and their adjointness.

use fxgrid::grid::{
    dirty2vis, reference, vis2dirty, GridConfig, GridError, GridFloat, GridPlan, GridWorkspace,
};
use fxgrid::ndarray::{Array2, ArrayView2};
use fxgrid::num_complex::{Complex, Complex64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const C: f64 = 299_792_458.0;

/// A random problem: `nrow` rows of uvw filling the image's uv plane (|u| up to
/// `0.45 / cell`, plus a few beyond it, which alias exactly as the DFT does), w up to
/// `w_max` wavelengths, `freq` channels, random visibilities, some flags and weights.
struct Problem {
    uvw: Array2<f64>,
    freq: Vec<f64>,
    vis: Array2<Complex64>,
    weight: Array2<f32>,
    flags: Array2<bool>,
    image: Array2<f64>,
}

fn problem(cfg: &GridConfig, nrow: usize, w_max: f64, seed: u64) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let freq = vec![100e6, 130e6, 160e6];
    let lam = C / freq[2];
    let uvw = Array2::from_shape_fn((nrow, 3), |(r, k)| {
        let span = match k {
            0 => 0.45 / cfg.cell_x_rad,
            1 => 0.45 / cfg.cell_y_rad,
            _ => w_max,
        };
        let beyond = if k < 2 && r % 50 == 7 { 1.8 } else { 1.0 };
        rng.random_range(-1.0..1.0) * span * beyond * lam
    });
    let vis = Array2::from_shape_fn((nrow, freq.len()), |_| {
        Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0))
    });
    let weight = Array2::from_shape_fn((nrow, freq.len()), |_| rng.random_range(0.5f32..2.0));
    let flags = Array2::from_shape_fn((nrow, freq.len()), |(r, c)| (r * 3 + c) % 17 == 0);
    let image = Array2::from_shape_fn((cfg.npix_y, cfg.npix_x), |_| rng.random_range(-1.0..1.0));
    Problem {
        uvw,
        freq,
        vis,
        weight,
        flags,
        image,
    }
}

fn l2_rel<A: Copy, B: Copy>(a: &[A], b: &[B], f: impl Fn(A, B) -> (f64, f64)) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (d, r) = f(x, y);
        num += d * d;
        den += r * r;
    }
    (num / den).sqrt()
}

fn to<T: GridFloat>(a: &Array2<Complex64>) -> Array2<Complex<T>> {
    a.mapv(|v| Complex::new(T::of_f64(v.re), T::of_f64(v.im)))
}

/// Relative L2 errors of gridding and degridding against the references.
fn errors<T: GridFloat>(cfg: &GridConfig, p: &Problem) -> (f64, f64) {
    let (w, f) = (Some(p.weight.view()), Some(p.flags.view()));
    let vis = to::<T>(&p.vis);
    let (dirty, rep) = vis2dirty(cfg, p.uvw.view(), &p.freq, vis.view(), w, f).unwrap();
    assert!(rep.params.estimated_error <= cfg.epsilon);
    let want = reference::vis2dirty(cfg, p.uvw.view(), &p.freq, p.vis.view(), w, f);
    let eg = l2_rel(
        dirty.as_slice().unwrap(),
        want.as_slice().unwrap(),
        |a: T, b: f64| (a.as_f64() - b, b),
    );
    let img = p.image.mapv(T::of_f64);
    let (pred, _) = dirty2vis(cfg, p.uvw.view(), &p.freq, img.view(), w, f).unwrap();
    let want = reference::dirty2vis(cfg, p.uvw.view(), &p.freq, p.image.view(), w, f);
    let ed = l2_rel(
        pred.as_slice().unwrap(),
        want.as_slice().unwrap(),
        |a: Complex<T>, b: Complex64| {
            (
                (Complex64::new(a.re.as_f64(), a.im.as_f64()) - b).norm(),
                b.norm(),
            )
        },
    );
    (eg, ed)
}

fn cases() -> Vec<(&'static str, GridConfig, f64)> {
    let narrow = GridConfig::new(64, 48, (0.02f64).to_radians() / 60.0 * 60.0, 1e-3);
    let mut wide = GridConfig::new(50, 64, (12.0f64 / 64.0).to_radians(), 1e-3);
    wide.wstacking = true;
    let mut wide2d = wide.clone();
    wide2d.wstacking = false;
    // Odd sizes: the image's centre row and column have no mirror image.
    let mut odd = GridConfig::new(45, 33, (12.0f64 / 64.0).to_radians(), 1e-3);
    odd.wstacking = true;
    vec![
        ("narrow 64x48", narrow, 0.0),
        ("wide 12 deg 50x64 no w", wide2d, 2000.0),
        ("wide 12 deg 50x64 w-stacking", wide, 2000.0),
        ("wide odd 45x33 w-stacking", odd, 2000.0),
    ]
}

fn check_accuracy<T: GridFloat>(epsilons: &[f64]) {
    for (name, base, w_max) in cases() {
        let p = problem(&base, 400, w_max, 7);
        for &eps in epsilons {
            let cfg = GridConfig {
                epsilon: eps,
                ..base.clone()
            };
            let (eg, ed) = errors::<T>(&cfg, &p);
            println!(
                "{name} {:?} eps {eps:e}: grid {eg:.2e} degrid {ed:.2e}",
                T::PRECISION
            );
            assert!(
                eg <= eps,
                "{name}, {:?}, eps {eps:e}: gridding error {eg:e}",
                T::PRECISION
            );
            assert!(
                ed <= eps,
                "{name}, {:?}, eps {eps:e}: degridding error {ed:e}",
                T::PRECISION
            );
        }
    }
}

#[test]
fn f32_meets_every_epsilon() {
    check_accuracy::<f32>(&[1e-2, 1e-3, 1e-4, 1e-5]);
}

#[test]
fn f64_meets_every_epsilon() {
    check_accuracy::<f64>(&[1e-7, 1e-10, 1e-12]);
}

/// Many closely spaced channels: a row's channels fall in runs of one bucket that are long,
/// cross the bucketing's 64-channel chunks and are cut by flags (every 17th sample) and by
/// a fully flagged channel; gridding and degridding still match the direct sums, with and
/// without w-stacking.
#[test]
fn long_channel_runs_are_bucketed_exactly() {
    for (name, base, w_max) in cases() {
        let base = GridConfig {
            epsilon: 1e-10,
            ..base
        };
        let mut p = problem(&base, 30, w_max, 5);
        let nchan = 150;
        p.freq = (0..nchan).map(|c| 140e6 + 20e3 * c as f64).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        p.vis = Array2::from_shape_fn((p.uvw.nrows(), nchan), |_| {
            Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0))
        });
        p.weight = Array2::from_shape_fn((p.uvw.nrows(), nchan), |_| rng.random_range(0.5..2.0));
        p.flags = Array2::from_shape_fn((p.uvw.nrows(), nchan), |(r, c)| {
            (r * 3 + c) % 17 == 0 || c == 64
        });
        let (eg, ed) = errors::<f64>(&base, &p);
        println!("{name}, {nchan} channels: grid {eg:.2e} degrid {ed:.2e}");
        assert!(
            eg <= 1e-10 && ed <= 1e-10,
            "{name}: grid {eg:e}, degrid {ed:e}"
        );
    }
}

/// More channels than the buckets number in one plan (65,535): the plan is made of parts
/// over channel ranges, and its image equals the sum of plans over those ranges (the same
/// bits), and within the accuracy contract the sum over any split (here two halves); its
/// predicted visibilities are the parts' side by side. Flags differ by channel, so a part
/// reading the wrong channel's flags would show.
#[test]
fn more_channels_than_one_plan_numbers_are_split_into_parts() {
    for (name, base, w_max) in cases() {
        let cfg = GridConfig {
            epsilon: 1e-7,
            ..base
        };
        let mut p = problem(&cfg, 3, w_max, 21);
        let nchan = 70_000;
        p.freq = (0..nchan).map(|c| 100e6 + 857.0 * c as f64).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let (nrow, shape) = (p.uvw.nrows(), (p.uvw.nrows(), nchan));
        p.vis = Array2::from_shape_fn(shape, |_| {
            Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0))
        });
        p.weight = Array2::from_shape_fn(shape, |_| rng.random_range(0.5..2.0));
        p.flags = Array2::from_shape_fn(shape, |(r, c)| (r * 7 + c) % 13 == 0);
        let plan_of = |c: std::ops::Range<usize>| {
            GridPlan::<f64>::new(
                &cfg,
                p.uvw.view(),
                &p.freq[c.clone()],
                Some(p.weight.slice(fxgrid::ndarray::s![.., c.clone()])),
                Some(p.flags.slice(fxgrid::ndarray::s![.., c])),
            )
            .unwrap()
        };
        let mut ws = GridWorkspace::new();
        let image_of =
            |plan: &GridPlan<f64>, c: std::ops::Range<usize>, ws: &mut GridWorkspace<f64>| {
                plan.vis2dirty(p.vis.slice(fxgrid::ndarray::s![.., c]), ws)
                    .unwrap()
                    .0
            };
        let whole = plan_of(0..nchan);
        assert_eq!(whole.parts(), 2, "{name}");
        assert_eq!(whole.vis_shape(), (nrow, nchan), "{name}");
        let image = image_of(&whole, 0..nchan, &mut ws);
        let (first, second) = (plan_of(0..65_535), plan_of(65_535..nchan));
        assert_eq!(whole.n_vis(), first.n_vis() + second.n_vis(), "{name}");
        let parts =
            image_of(&first, 0..65_535, &mut ws) + image_of(&second, 65_535..nchan, &mut ws);
        assert_eq!(image, parts, "{name}: parts");
        let halves = image_of(&plan_of(0..35_000), 0..35_000, &mut ws)
            + image_of(&plan_of(35_000..nchan), 35_000..nchan, &mut ws);
        let err = l2_rel(
            image.as_slice().unwrap(),
            halves.as_slice().unwrap(),
            |a: f64, b: f64| (a - b, b),
        );
        assert!(err <= 1e-7, "{name}: halves differ by {err:e}");
        let model = whole.dirty2vis(p.image.view(), &mut ws).unwrap().0;
        let a = first.dirty2vis(p.image.view(), &mut ws).unwrap().0;
        let b = second.dirty2vis(p.image.view(), &mut ws).unwrap().0;
        assert_eq!(
            model.slice(fxgrid::ndarray::s![.., ..65_535]),
            a,
            "{name}: degrid"
        );
        assert_eq!(
            model.slice(fxgrid::ndarray::s![.., 65_535..]),
            b,
            "{name}: degrid"
        );
        // A part whose every sample is flagged is left out: the plan is the other part's
        // (same image), and predicts zeros on the flagged channels.
        let mut flags = p.flags.clone();
        flags
            .slice_mut(fxgrid::ndarray::s![.., 65_535..])
            .fill(true);
        let plan = GridPlan::<f64>::new(&cfg, p.uvw.view(), &p.freq, None, Some(flags.view()));
        let plan = plan.unwrap();
        assert_eq!(plan.parts(), 1, "{name}");
        let first = GridPlan::<f64>::new(
            &cfg,
            p.uvw.view(),
            &p.freq[..65_535],
            None,
            Some(flags.slice(fxgrid::ndarray::s![.., ..65_535])),
        )
        .unwrap();
        let v = p.vis.slice(fxgrid::ndarray::s![.., ..65_535]);
        let want = first.vis2dirty(v, &mut ws).unwrap().0;
        assert_eq!(
            plan.vis2dirty(p.vis.view(), &mut ws).unwrap().0,
            want,
            "{name}"
        );
        let model = plan.dirty2vis(p.image.view(), &mut ws).unwrap().0;
        assert_eq!(model.dim(), (nrow, nchan));
        assert!(model
            .slice(fxgrid::ndarray::s![.., 65_535..])
            .iter()
            .all(|v| v.norm() == 0.0));
    }
}

fn inner_real<T: GridFloat>(a: ArrayView2<'_, T>, b: ArrayView2<'_, f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x.as_f64() * y).sum()
}

fn check_adjoint<T: GridFloat>(eps: f64, tol: f64) {
    for (name, base, w_max) in cases() {
        let p = problem(&base, 300, w_max, 11);
        let cfg = GridConfig {
            epsilon: eps,
            ..base
        };
        let (w, f) = (Some(p.weight.view()), Some(p.flags.view()));
        let vis = to::<T>(&p.vis);
        let (dirty, _) = vis2dirty(&cfg, p.uvw.view(), &p.freq, vis.view(), w, f).unwrap();
        let img = p.image.mapv(T::of_f64);
        let (pred, _) = dirty2vis(&cfg, p.uvw.view(), &p.freq, img.view(), w, f).unwrap();
        // <I, grid(V)> = Re <degrid(I), V>
        let lhs = inner_real(dirty.view(), p.image.view());
        let rhs: f64 = pred
            .iter()
            .zip(p.vis.iter())
            .map(|(a, b)| a.re.as_f64() * b.re + a.im.as_f64() * b.im)
            .sum();
        // The dot-product test: the difference relative to the size the inner products
        // can have, ‖I‖·‖grid V‖ (Cauchy–Schwarz), so cancellation among random terms
        // does not inflate it.
        let norm = |it: &mut dyn Iterator<Item = f64>| it.map(|x| x * x).sum::<f64>().sqrt();
        let scale =
            (norm(&mut p.image.iter().copied()) * norm(&mut dirty.iter().map(|x| x.as_f64()))).max(
                norm(&mut pred.iter().flat_map(|v| [v.re.as_f64(), v.im.as_f64()]))
                    * norm(&mut p.vis.iter().flat_map(|v| [v.re, v.im])),
            );
        let rel = (lhs - rhs).abs() / scale;
        println!(
            "{name} {:?} eps {eps:e}: adjointness {rel:.2e}",
            T::PRECISION
        );
        assert!(
            rel <= tol,
            "{name}: <I, grid V> = {lhs}, <degrid I, V> = {rhs}, rel {rel:e}"
        );
    }
}

#[test]
fn grid_and_degrid_are_adjoint() {
    for eps in [1e-2, 1e-3, 1e-4, 1e-5] {
        check_adjoint::<f32>(eps, 1e-5);
    }
    for eps in [1e-7, 1e-10, 1e-12] {
        check_adjoint::<f64>(eps, 1e-12);
    }
}

#[test]
fn a_point_source_at_the_centre_sums_the_weights() {
    let cfg = GridConfig::new(32, 32, 1e-3, 1e-6);
    let p = problem(&cfg, 100, 0.0, 3);
    let ones = Array2::from_elem(p.vis.dim(), Complex::new(1.0f64, 0.0));
    let (dirty, rep) = vis2dirty(
        &cfg,
        p.uvw.view(),
        &p.freq,
        ones.view(),
        Some(p.weight.view()),
        None,
    )
    .unwrap();
    let sum_w: f64 = p.weight.iter().map(|&w| w as f64).sum();
    assert!((dirty[[16, 16]] / sum_w - 1.0).abs() < 1e-6);
    assert_eq!(rep.n_vis, p.vis.len());
}

#[test]
fn bad_input_gives_typed_errors() {
    let cfg = GridConfig::new(32, 32, 1e-3, 1e-4);
    let p = problem(&cfg, 20, 0.0, 5);
    let vis = to::<f32>(&p.vis);
    let run = |cfg: &GridConfig| {
        vis2dirty(cfg, p.uvw.view(), &p.freq, vis.view(), None, None).map(|_| ())
    };
    let bad = |f: &dyn Fn(&mut GridConfig)| {
        let mut c = cfg.clone();
        f(&mut c);
        run(&c).unwrap_err()
    };
    assert!(matches!(
        bad(&|c| c.npix_x = 0),
        GridError::InvalidConfig {
            field: "npix_x",
            ..
        }
    ));
    assert!(matches!(
        bad(&|c| c.epsilon = 0.0),
        GridError::InvalidConfig {
            field: "epsilon",
            ..
        }
    ));
    assert!(matches!(
        bad(&|c| c.epsilon = 1e-7),
        GridError::Unreachable { .. }
    ));
    assert!(matches!(
        bad(&|c| c.cell_x_rad = 0.5),
        GridError::InvalidConfig {
            field: "cell_x_rad",
            ..
        }
    ));
    let all = Array2::from_elem(p.vis.dim(), true);
    let e = vis2dirty(
        &cfg,
        p.uvw.view(),
        &p.freq,
        vis.view(),
        None,
        Some(all.view()),
    )
    .unwrap_err();
    assert!(matches!(e, GridError::Empty(_)), "{e}");
    let short = Array2::from_elem((3, 3), Complex::new(0.0f32, 0.0));
    let e = vis2dirty(&cfg, p.uvw.view(), &p.freq, short.view(), None, None).unwrap_err();
    assert!(e.to_string().contains("[20, 3]"), "{e}");
    let img = Array2::<f32>::zeros((31, 32));
    let e = dirty2vis(&cfg, p.uvw.view(), &p.freq, img.view(), None, None).unwrap_err();
    assert!(matches!(e, GridError::Shape { what: "image", .. }), "{e}");
}

#[test]
fn non_finite_visibilities_are_skipped_and_counted() {
    let cfg = GridConfig::new(32, 32, 1e-3, 1e-4);
    let p = problem(&cfg, 50, 0.0, 9);
    let mut vis = to::<f64>(&p.vis);
    vis[[3, 1]] = Complex::new(f64::NAN, 0.0);
    vis[[7, 0]] = Complex::new(0.0, f64::INFINITY);
    let (dirty, rep) = vis2dirty(&cfg, p.uvw.view(), &p.freq, vis.view(), None, None).unwrap();
    assert_eq!(rep.n_skipped_nonfinite, 2);
    assert!(dirty.iter().all(|x| x.is_finite()));
    let mut flags = Array2::from_elem(vis.dim(), false);
    flags[[3, 1]] = true;
    flags[[7, 0]] = true;
    let (want, _) = vis2dirty(
        &cfg,
        p.uvw.view(),
        &p.freq,
        vis.view(),
        None,
        Some(flags.view()),
    )
    .unwrap();
    assert_eq!(dirty, want);
}

fn cfg_for<T: GridFloat>(wstacking: bool) -> GridConfig {
    GridConfig {
        wstacking,
        ..GridConfig::new(
            96,
            80,
            4e-4,
            if T::PRECISION == fxgrid::grid::Precision::F32 {
                1e-4
            } else {
                1e-9
            },
        )
    }
}

/// A plan run 10 times in both directions with one workspace gives the bits of the
/// one-call wrappers every time: the workspace's grid, left non-zero by degridding and
/// zero by gridding, changes no result (fails if the grid is not cleared).
fn check_plan_reuse<T: GridFloat>(wstacking: bool) {
    let cfg = cfg_for::<T>(wstacking);
    let p = problem(&cfg, 3000, if wstacking { 400.0 } else { 0.0 }, 11);
    let vis = to::<T>(&p.vis);
    let model = p.image.mapv(T::of_f64);
    let (w, f) = (Some(p.weight.view()), Some(p.flags.view()));
    let (want_dirty, _) = vis2dirty(&cfg, p.uvw.view(), &p.freq, vis.view(), w, f).unwrap();
    let (want_vis, _) = dirty2vis(&cfg, p.uvw.view(), &p.freq, model.view(), w, f).unwrap();
    let plan = GridPlan::<T>::new(&cfg, p.uvw.view(), &p.freq, w, f).unwrap();
    let mut ws = GridWorkspace::new();
    for i in 0..10 {
        let (v, rep) = plan.dirty2vis(model.view(), &mut ws).unwrap();
        assert!(v == want_vis, "degridding, round {i}");
        assert_eq!(rep.times.bucket_s, 0.0);
        let (d, _) = plan.vis2dirty(vis.view(), &mut ws).unwrap();
        assert!(d == want_dirty, "gridding after degridding, round {i}");
    }
    assert!(ws.bytes() > 0);
    ws.release();
    assert_eq!(ws.bytes(), 0);
}

#[test]
fn a_plan_run_many_times_equals_the_one_call_wrappers_bit_for_bit() {
    check_plan_reuse::<f32>(false);
    check_plan_reuse::<f64>(false);
    check_plan_reuse::<f32>(true);
    check_plan_reuse::<f64>(true);
}

/// Two plans (different baselines, precisions and w-stacking) used from two threads at
/// once, each with its own workspace, give their serial results: nothing is shared.
#[test]
fn two_plans_on_two_threads_give_the_serial_results() {
    let cfg_a = cfg_for::<f32>(true);
    let cfg_b = cfg_for::<f64>(false);
    let pa = problem(&cfg_a, 2000, 400.0, 21);
    let pb = problem(&cfg_b, 2500, 0.0, 22);
    let (va, vb) = (to::<f32>(&pa.vis), to::<f64>(&pb.vis));
    let plan_a = GridPlan::<f32>::new(&cfg_a, pa.uvw.view(), &pa.freq, None, None).unwrap();
    let plan_b = GridPlan::<f64>::new(
        &cfg_b,
        pb.uvw.view(),
        &pb.freq,
        Some(pb.weight.view()),
        None,
    )
    .unwrap();
    let run_a = || {
        let mut ws = GridWorkspace::new();
        (0..4)
            .map(|_| plan_a.vis2dirty(va.view(), &mut ws).unwrap().0)
            .collect::<Vec<_>>()
    };
    let run_b = || {
        let mut ws = GridWorkspace::new();
        (0..4)
            .map(|_| plan_b.vis2dirty(vb.view(), &mut ws).unwrap().0)
            .collect::<Vec<_>>()
    };
    let (serial_a, serial_b) = (run_a(), run_b());
    let (par_a, par_b) = std::thread::scope(|s| {
        let a = s.spawn(run_a);
        let b = s.spawn(run_b);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(par_a == serial_a && par_b == serial_b);
    assert!(serial_a.windows(2).all(|w| w[0] == w[1]));
}

/// An owned plan outlives the arrays it was made from and gives the same results.
#[test]
fn an_owned_plan_equals_the_borrowing_plan() {
    let cfg = cfg_for::<f64>(true);
    let p = problem(&cfg, 1500, 300.0, 23);
    let vis = to::<f64>(&p.vis);
    let (want, _) = vis2dirty(
        &cfg,
        p.uvw.view(),
        &p.freq,
        vis.view(),
        Some(p.weight.view()),
        None,
    )
    .unwrap();
    let owned = {
        let uvw = p.uvw.clone();
        let weight = p.weight.clone();
        let plan =
            GridPlan::<f64>::new(&cfg, uvw.view(), &p.freq, Some(weight.view()), None).unwrap();
        plan.into_owned()
    };
    assert!(owned.heap_bytes() >= p.uvw.len() * 8 + p.weight.len() * 4);
    let (got, _) = owned
        .vis2dirty(vis.view(), &mut GridWorkspace::new())
        .unwrap();
    assert!(got == want);
}

/// With w-stacking each plane is made band by band (tile rows), in runs of bands that
/// depend on the thread count. Coverage in two narrow stripes of v leaves most bands empty,
/// so runs start and end on empty bands and carries cross them; a grid of one band carries
/// onto itself. Every split must give the reference's results.
#[test]
fn w_planes_made_band_by_band_match_the_references_at_any_thread_count() {
    let mut cfg = GridConfig::new(48, 64, (8.0f64 / 64.0).to_radians(), 1e-9);
    cfg.wstacking = true;
    let mut p = problem(&cfg, 300, 1500.0, 21);
    let lam = C / p.freq[2];
    for (r, mut row) in p.uvw.rows_mut().into_iter().enumerate() {
        let stripe = if r % 2 == 0 { 0.31 } else { -0.12 };
        row[1] = (stripe + 0.004 * ((r % 7) as f64 - 3.0)) / cfg.cell_y_rad * lam;
    }
    let mut tiny = GridConfig::new(8, 8, 1f64.to_radians(), 1e-6);
    tiny.wstacking = true;
    let pt = problem(&tiny, 100, 30.0, 22);
    for threads in [1, 2, 3, 5] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for (name, cfg, p) in [("stripes", &cfg, &p), ("one band", &tiny, &pt)] {
            let (eg, ed) = pool.install(|| errors::<f64>(cfg, p));
            println!("{name}, {threads} threads: grid {eg:.2e} degrid {ed:.2e}");
            assert!(
                eg <= cfg.epsilon && ed <= cfg.epsilon,
                "{name}, {threads} threads: grid {eg:e}, degrid {ed:e} against ε {:e}",
                cfg.epsilon
            );
        }
    }
}
