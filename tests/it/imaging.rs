//! Imaging end to end: physical truth (a simulated source lands where it is on the sky at
//! 1 Jy/beam), PSF, weighting, FITS round trip, prediction from a model image, the CLI
//! `image` and `predict` commands and their errors.

use fxgrid::grid::weighting::{imaging_weights, weight_grid_cells, RankFilter, Weighting};
use fxgrid::grid::{GridConfig, GridError, Precision};
use fxgrid::image::{dirty_image_and_psf, lm_to_radec, predict_into, ImagingConfig};
use fxgrid::io::fits::{read_fits, write_fits};
use fxgrid::ndarray::Array2;
use fxgrid::sky::{predict, Component, PredictConfig, SkyModel};
use fxgrid::telescope::{ska_low_like, Observation, RaDec};

const CELL_ARCSEC: f64 = 30.0;

/// One 1 Jy source 1° east and 0.5° north (direction cosines) of a phase centre at
/// Dec −30°, 64 stations, 3 integrations of 60 s, 2 channels; the source lies exactly on
/// pixel (row 256 + 60, column 256 − 120) of a 512² image of 30″ cells.
fn one_source() -> (fxgrid::Visibilities, RaDec) {
    let centre = RaDec::from_degrees(60.0, -30.0);
    let src = lm_to_radec(centre, 1f64.to_radians(), 0.5f64.to_radians()).unwrap();
    let layout = ska_low_like(64, 3).unwrap();
    let obs = Observation {
        phase_centre: centre,
        start_jd_utc: fxgrid::telescope::default_day_jd_utc() + 0.64,
        n_times: 3,
        int_time_s: 60.0,
        freq_start_hz: 150e6,
        chan_width_hz: 1e6,
        n_chan: 2,
    };
    let sky = SkyModel::new(vec![Component::point(src, 1.0)]).unwrap();
    let cfg = PredictConfig {
        precision: fxgrid::Precision::F64,
        ..Default::default()
    };
    (predict(&layout, &obs, &sky, &cfg).unwrap(), src)
}

fn config(precision: Precision, epsilon: f64) -> ImagingConfig {
    ImagingConfig {
        npix_x: 512,
        npix_y: 512,
        cell_rad: Some((CELL_ARCSEC / 3600.0f64).to_radians()),
        weighting: Weighting::Natural,
        weight_rank_filter: Some(RankFilter::default()),
        epsilon,
        precision,
        wstacking: None,
        channels: None,
        per_channel: false,
    }
}

#[test]
fn a_simulated_source_is_imaged_where_it_is_at_one_jansky_per_beam() {
    let (vis, src) = one_source();
    for (precision, eps) in [(Precision::F32, 1e-5), (Precision::F64, 1e-7)] {
        let (dirty, psf, rep) = dirty_image_and_psf(&vis, &config(precision, eps)).unwrap();
        assert!(rep.wstacking, "a 1.1° offset at 150 MHz needs the w-term");
        let (r, c, v) = dirty.peak(0);
        let (er, ec) = dirty.geometry.radec_to_pixel(src).unwrap();
        assert!(
            (er - 316.0).abs() < 1e-6 && (ec - 136.0).abs() < 1e-6,
            "{er} {ec}"
        );
        assert_eq!(
            (r, c),
            (316, 136),
            "{precision:?}: peak at row {r}, col {c}"
        );
        assert!(
            (v as f64 - 1.0).abs() < 1e-3,
            "{precision:?}: peak {v} Jy/beam"
        );
        let (pr, pc, pv) = psf.peak(0);
        assert_eq!((pr, pc), (256, 256));
        assert!((pv - 1.0).abs() < 1e-5, "PSF peak {pv}");
        // Geometry inverts: the peak pixel's sky position is the source's.
        let back = dirty.geometry.pixel_to_radec(r as f64, c as f64).unwrap();
        assert!(back.separation_rad(src) < 1e-9);
    }
}

#[test]
fn without_the_w_term_the_wide_field_source_is_smeared() {
    let (vis, _) = one_source();
    let mut cfg = config(Precision::F64, 1e-7);
    cfg.wstacking = Some(false);
    let (dirty, _, _) = dirty_image_and_psf(&vis, &cfg).unwrap();
    assert!(
        dirty.data[[0, 316, 136]] < 0.999,
        "{}",
        dirty.data[[0, 316, 136]]
    );
}

#[test]
fn per_channel_planes_and_channel_selection() {
    let (vis, _) = one_source();
    let mut cfg = config(Precision::F32, 1e-4);
    cfg.per_channel = true;
    let (dirty, _, rep) = dirty_image_and_psf(&vis, &cfg).unwrap();
    assert_eq!(dirty.data.shape(), &[2, 512, 512]);
    assert_eq!(rep.grid.len(), 2);
    assert!((dirty.geometry.freqs_hz[1] - dirty.geometry.freqs_hz[0] - 1e6).abs() < 1e-3);
    cfg.per_channel = false;
    cfg.channels = Some(1..2);
    let (one, _, _) = dirty_image_and_psf(&vis, &cfg).unwrap();
    assert!((one.geometry.freqs_hz[0] - 151e6).abs() < 1e-3);
    let diff = (&one.data.slice(fxgrid::ndarray::s![0, .., ..])
        - &dirty.data.slice(fxgrid::ndarray::s![1, .., ..]))
        .iter()
        .fold(0.0f32, |a, x| a.max(x.abs()));
    assert!(diff < 1e-5, "{diff}");
    cfg.channels = Some(2..2);
    assert!(matches!(
        dirty_image_and_psf(&vis, &cfg),
        Err(GridError::InvalidConfig { .. })
    ));
    cfg.channels = Some(1..5);
    assert!(matches!(
        dirty_image_and_psf(&vis, &cfg),
        Err(GridError::InvalidConfig { .. })
    ));
}

#[test]
fn all_flagged_data_is_an_error() {
    let (mut vis, _) = one_source();
    vis.flags_mut().fill(true);
    let e = dirty_image_and_psf(&vis, &config(Precision::F32, 1e-4)).unwrap_err();
    assert!(matches!(e, GridError::Empty(_)), "{e}");
}

#[test]
fn uniform_and_briggs_weights() {
    // Three samples in one uv cell and one alone (the weighting grid's cells are 12.5 λ
    // here: 64 pixels padded to 80 at 1 mrad; 150 MHz is 2.0 m).
    let uvw = Array2::from_shape_vec(
        (4, 3),
        vec![
            56.0, 0.0, 0.0, 56.1, 0.0, 0.0, 55.9, 0.0, 0.0, -500.0, 300.0, 0.0,
        ],
    )
    .unwrap();
    let freq = [150e6];
    let cfg = GridConfig::new(64, 64, 1e-3, 1e-4);
    let w = |s| imaging_weights(s, None, &cfg, uvw.view(), &freq, None, None).unwrap();
    let nat = w(Weighting::Natural);
    assert!(nat.iter().all(|&x| x == 1.0));
    let uni = w(Weighting::Uniform);
    assert!((uni[[0, 0]] - 1.0 / 3.0).abs() < 1e-6 && (uni[[3, 0]] - 1.0).abs() < 1e-6);
    // Robust +2 is close to natural, −2 close to uniform (up to a common scale).
    let near = |a: &Array2<f32>, b: &Array2<f32>| {
        let ra = a[[0, 0]] / a[[3, 0]];
        let rb = b[[0, 0]] / b[[3, 0]];
        (ra / rb - 1.0).abs()
    };
    assert!(near(&w(Weighting::Briggs(2.0)), &nat) < 0.05);
    assert!(near(&w(Weighting::Briggs(-2.0)), &uni) < 0.05);
    assert!("briggs:3".parse::<Weighting>().is_err());
    assert!("nonsense".parse::<Weighting>().is_err());
    assert_eq!(
        "briggs:-0.5".parse::<Weighting>().unwrap(),
        Weighting::Briggs(-0.5)
    );
}

/// A weighting grid of 10 λ cells: wavelengths of 1 m, 64 pixels (80 cells) of 1.25 mrad.
fn ten_wavelength_cells() -> (GridConfig, [f64; 1]) {
    (
        GridConfig::new(64, 64, 1.25e-3, 1e-4),
        [fxgrid::telescope::SPEED_OF_LIGHT_M_S],
    )
}

#[test]
fn the_weighting_grid_is_wscleans() {
    // The padded sizes WSClean 3.1's stored IMAGING_WEIGHT_SPECTRUM was measured to match
    // (to 1e-7, every sample): 4096 → 4916, 1001 → 1204, 1024 → 1232.
    assert_eq!(weight_grid_cells(4096), 4916);
    assert_eq!(weight_grid_cells(1001), 1204);
    assert_eq!(weight_grid_cells(1024), 1232);
    assert_eq!(weight_grid_cells(64), 80);
    let (cfg, freq) = ten_wavelength_cells();
    // A sample and its Hermitian twin are one cell (folded onto v ≥ 0); cells are
    // [k, k + 1) × 10 λ; a sample beyond the 400 λ half-width is left out.
    let uvw = Array2::from_shape_vec(
        (5, 3),
        vec![
            31.0, 52.0, 0.0, // cell (3, 5)
            -31.0, -52.0, 0.0, // its twin: the same cell
            39.9, 59.9, 0.0, // cell (3, 5) too
            40.0, 52.0, 0.0, // cell (4, 5): alone
            405.0, 0.0, 0.0, // beyond the grid
        ],
    )
    .unwrap();
    let uni = imaging_weights(
        Weighting::Uniform,
        None,
        &cfg,
        uvw.view(),
        &freq,
        None,
        None,
    )
    .unwrap();
    let got: Vec<f32> = uni.iter().copied().collect();
    assert_eq!(got, vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 1.0, 0.0]);
}

#[test]
fn the_rank_filter_caps_isolated_cells_at_three_local_means() {
    // Four cells of ten samples around one of a single sample.
    let (cfg, freq) = ten_wavelength_cells();
    let mut rows = Vec::new();
    for (cu, cv) in [(10, 20), (11, 20), (10, 21), (11, 21)] {
        for k in 0..10 {
            rows.extend([
                cu as f64 * 10.0 + 0.5 + k as f64 * 0.5,
                cv as f64 * 10.0 + 5.0,
                0.0,
            ]);
        }
    }
    rows.extend([125.0, 225.0, 0.0]);
    let uvw = Array2::from_shape_vec((41, 3), rows).unwrap();
    let w = |s, f| imaging_weights(s, f, &cfg, uvw.view(), &freq, None, None).unwrap();
    let filter = Some(RankFilter::default());
    // Uniform: factors 0.1 and 1; the box of the lone cell holds the five occupied cells
    // (empty cells have no uniform factor), mean 0.28, so the lone sample is capped at
    // 3 × 0.28.
    let uni = w(Weighting::Uniform, filter);
    assert!((uni[[40, 0]] - 0.84).abs() < 1e-6, "{}", uni[[40, 0]]);
    assert!((uni[[0, 0]] - 0.1).abs() < 1e-7);
    assert!((w(Weighting::Uniform, None)[[40, 0]] - 1.0).abs() < 1e-7);
    // Briggs 0: every cell of the box has a factor, 1 where empty, so its mean is near 1
    // and nothing is capped (with the empty cells left out the lone sample would be).
    let f2 = 25.0 / (4.0 * 100.0 + 1.0) * 41.0;
    let briggs = w(Weighting::Briggs(0.0), filter);
    assert!((briggs[[40, 0]] as f64 - 1.0 / (1.0 + f2)).abs() < 1e-6);
    assert_eq!(briggs, w(Weighting::Briggs(0.0), None));
    // A level of 0.25 caps it: at a quarter of the mean of its box's 256 factors.
    let quarter = RankFilter {
        level: 0.25,
        size: 16,
    };
    let mean = (251.0 + 4.0 / (1.0 + 10.0 * f2) + 1.0 / (1.0 + f2)) / 256.0;
    assert!(0.25 * mean < 1.0 / (1.0 + f2));
    let capped = w(Weighting::Briggs(0.0), Some(quarter))[[40, 0]] as f64;
    assert!((capped - 0.25 * mean).abs() < 1e-6, "{capped}");
    // Bad filters are refused.
    let bad = RankFilter {
        level: -1.0,
        size: 16,
    };
    assert!(imaging_weights(
        Weighting::Uniform,
        Some(bad),
        &cfg,
        uvw.view(),
        &freq,
        None,
        None
    )
    .is_err());
}

#[test]
fn fits_round_trip_keeps_pixels_and_geometry() {
    let (vis, _) = one_source();
    let mut cfg = config(Precision::F32, 1e-4);
    cfg.npix_x = 64;
    cfg.npix_y = 64;
    let (dirty, _, _) = dirty_image_and_psf(&vis, &cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.fits");
    write_fits(&path, &dirty).unwrap();
    let back = read_fits(&path).unwrap();
    assert_eq!(back.data, dirty.data);
    let (g, h) = (&back.geometry, &dirty.geometry);
    assert_eq!((g.npix_x, g.npix_y), (h.npix_x, h.npix_y));
    assert!((g.cell_x_rad / h.cell_x_rad - 1.0).abs() < 1e-12);
    assert!(g.phase_centre.separation_rad(h.phase_centre) < 1e-12);
    assert_eq!(back.unit, "JY/BEAM");
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
    // Errors name the problem.
    let e = read_fits(&dir.path().join("missing.fits")).unwrap_err();
    assert!(e.to_string().contains("no such file"), "{e}");
    std::fs::write(dir.path().join("junk.fits"), b"not a fits file").unwrap();
    assert!(read_fits(&dir.path().join("junk.fits")).is_err());
}

#[test]
fn prediction_from_a_model_image_matches_the_direct_sum_on_every_sample() {
    use fxgrid::grid::reference;
    use fxgrid::image::stokes_i;
    let (mut vis, _) = one_source();
    let mut cfg = config(Precision::F64, 1e-7);
    cfg.npix_x = 64;
    cfg.npix_y = 48;
    cfg.cell_rad = Some((120.0f64 / 3600.0).to_radians());
    let (mut model, _, _) = dirty_image_and_psf(&vis, &cfg).unwrap();
    model.data.fill(0.0);
    model.unit = "JY/PIXEL".into();
    for (r, c, f) in [
        (24usize, 32usize, 1.0f32),
        (5, 60, 0.5),
        (40, 3, -0.25),
        (30, 17, 2.0),
    ] {
        model.data[[0, r, c]] = f;
    }
    let d = stokes_i(&vis, 0..vis.n_chan()).unwrap();
    let gcfg = GridConfig {
        wstacking: true,
        ..GridConfig::new(64, 48, cfg.cell_rad.unwrap(), 1e-7)
    };
    let plane = model
        .data
        .slice(fxgrid::ndarray::s![0, .., ..])
        .mapv(|x| x as f64);
    let want = reference::dirty2vis(&gcfg, d.uvw_m.view(), &d.freqs_hz, plane.view(), None, None);
    let rep = predict_into(&model, &mut vis, 1e-7, Precision::F64, Some(true)).unwrap();
    assert!(rep.params.n_planes > 1);
    // Cross-correlations in row order (time, baseline); XX = YY = I, XY = YX = 0;
    // autocorrelations hold the total flux.
    let meta = vis.meta().clone();
    let (mut num, mut den, mut row) = (0.0f64, 0.0f64, 0usize);
    for t in 0..vis.n_times() {
        for (b, &(p, q)) in meta.baselines.iter().enumerate() {
            for ch in 0..vis.n_chan() {
                let got = vis.data()[[t, b, ch, 0]];
                assert_eq!(got, vis.data()[[t, b, ch, 3]]);
                assert_eq!(vis.data()[[t, b, ch, 1]].norm(), 0.0);
                if p == q {
                    assert!((got.re - 3.25).abs() < 1e-6 && got.im == 0.0);
                    continue;
                }
                let w = want[[row, ch]];
                num += (got.re as f64 - w.re).powi(2) + (got.im as f64 - w.im).powi(2);
                den += w.norm_sqr();
            }
            if p != q {
                row += 1;
            }
        }
    }
    // The stored data are f32: the comparison is limited by their rounding.
    let err = (num / den).sqrt();
    assert!(err < 1e-6, "relative L2 error {err}");
}

#[cfg(feature = "hdf5")]
#[test]
fn cli_image_and_predict() {
    use std::process::Command;
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    let (vis, src) = one_source();
    fxgrid::io::uvh5::write_uvh5(std::path::Path::new(&p("v.uvh5")), &vis).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_fxgrid"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(&[
        "image",
        &p("v.uvh5"),
        "--npix",
        "512",
        "--cell-arcsec",
        "30",
        "--precision",
        "f32",
        "--epsilon",
        "1e-5",
        "--weight",
        "briggs:0",
        "--psf",
        &p("psf.fits"),
        "--png",
        &p("d.png"),
        "--report",
        &p("r.json"),
        "--out",
        &p("d.fits"),
    ]);
    assert!(ok, "{err}");
    let img = read_fits(std::path::Path::new(&p("d.fits"))).unwrap();
    let (r, c, _) = img.peak(0);
    assert_eq!((r, c), (316, 136));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("r.json")).unwrap()).unwrap();
    for k in ["read", "grid", "fft", "correction", "write"] {
        assert!(report["seconds"][k].as_f64().unwrap() >= 0.0, "{k}");
    }
    assert_eq!(report["wstacking"], true);
    if cfg!(target_os = "linux") {
        assert!(report["peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
    }
    assert!(report["kernel"]["support"].as_u64().unwrap() >= 4);
    assert!(std::fs::metadata(p("d.png")).unwrap().len() > 1000);
    assert!(std::fs::metadata(p("psf.fits")).is_ok());
    // predict: a model with 1 Jy at the source pixel reproduces the simulation.
    let mut model = img.clone();
    model.data.fill(0.0);
    model.data[[0, 316, 136]] = 1.0;
    model.unit = "JY/PIXEL".into();
    write_fits(std::path::Path::new(&p("m.fits")), &model).unwrap();
    let (ok, err) = run(&["predict", &p("m.fits"), &p("v.uvh5"), "--out", &p("m.uvh5")]);
    assert!(ok, "{err}");
    // Imaging the prediction puts 1 Jy/beam back in that pixel.
    let (ok, err) = run(&[
        "image",
        &p("m.uvh5"),
        "--npix",
        "512",
        "--cell-arcsec",
        "30",
        "--out",
        &p("m2.fits"),
    ]);
    assert!(ok, "{err}");
    let img2 = read_fits(std::path::Path::new(&p("m2.fits"))).unwrap();
    let (r, c, v) = img2.peak(0);
    assert_eq!((r, c), (316, 136));
    assert!((v - 1.0).abs() < 1e-4, "{v}");
    let _ = src;
    // Bad input: one clear line, no panic, no output file.
    for (args, needle) in [
        (vec!["--npix", "0"], "npix"),
        (vec!["--npix", "64", "--cell-arcsec", "7200"], "hemisphere"),
        (vec!["--npix", "64", "--epsilon", "0"], "epsilon"),
        (
            vec!["--npix", "64", "--precision", "f32", "--epsilon", "1e-9"],
            "at least 1e-5 in f32 (give a larger --epsilon, or --precision f64)",
        ),
        (vec!["--npix", "64", "--channels", "1:1"], "empty"),
        (vec!["--npix", "64", "--channels", "0:9"], "channels"),
        (vec!["--npix", "64", "--weight", "briggs:5"], "[-2, 2]"),
    ] {
        let out = p("bad.fits");
        let v = p("v.uvh5");
        let mut all = vec!["image", v.as_str()];
        all.extend(args.iter().copied());
        all.extend(["--out", &out]);
        let (ok, err) = run(&all);
        assert!(!ok, "{all:?} should fail");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains(needle), "{all:?}: {err}");
        assert!(
            !std::path::Path::new(&out).exists(),
            "partial output after {all:?}"
        );
    }
    let (ok, err) = run(&[
        "predict",
        &p("missing.fits"),
        &p("v.uvh5"),
        "--out",
        &p("x.uvh5"),
    ]);
    assert!(!ok && err.contains("no such file"), "{err}");
}

/// Runs `fxgrid` with `args` and fails the test with its error output if it fails.
fn run_fxgrid(args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fxgrid"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `fxgrid image INPUT` in f64 at ε = 1e-6, `npix`² pixels of `cell` arcsec, with `extra`
/// arguments, into `DIR/NAME.fits`: the image's pixels and the `--report`.
fn image_in_f64(
    dir: &std::path::Path,
    input: &str,
    (npix, cell): (&str, &str),
    name: &str,
    extra: &[&str],
) -> (fxgrid::ndarray::Array3<f32>, serde_json::Value) {
    let fits = dir.join(format!("{name}.fits")).display().to_string();
    let report = dir.join(format!("{name}.json")).display().to_string();
    let mut args = vec![
        "image",
        input,
        "--npix",
        npix,
        "--cell-arcsec",
        cell,
        "--epsilon",
        "1e-6",
        "--precision",
        "f64",
        "-q",
        "--out",
        &fits,
        "--report",
        &report,
    ];
    args.extend(extra);
    run_fxgrid(&args);
    let report = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    (read_fits(std::path::Path::new(&fits)).unwrap().data, report)
}

/// A file of more than 65,535 channels (more than one gridder plan numbers) images, and
/// its image equals those of its two halves added with their weights (the reports' weight
/// sums). Tolerance: each image is within ε = 1e-6 of the exact sums and is stored in f32,
/// so the three differ by a few 1e-7 relative; 1e-5 leaves room and still catches a lost or
/// doubled channel range (one half alone differs from the whole by tens of per cent).
#[test]
fn a_file_of_more_than_65535_channels_images_as_its_halves_added() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.uvh5").display().to_string();
    run_fxgrid(&[
        "simulate",
        "vis",
        "--layout",
        "ska-low:4",
        "--ra-deg",
        "60",
        "--dec-deg",
        "-30",
        "--nchan",
        "66000",
        "--chan-width-hz",
        "100",
        "--freq-start-hz",
        "150e6",
        "--source",
        "60.02,-29.99,2",
        "--noise-jy",
        "1",
        "--no-autos",
        "-q",
        "--out",
        &v,
    ]);
    let image = |name: &str, extra: &[&str]| {
        let (img, report) = image_in_f64(dir.path(), &v, ("128", "20"), name, extra);
        (img, report["weight_sum"].as_f64().unwrap())
    };
    let (whole, w) = image("whole", &[]);
    let (a, wa) = image("a", &["--channels", "0:30000"]);
    let (b, wb) = image("b", &["--channels", "30000:66000"]);
    assert!((w - (wa + wb)).abs() <= 1e-9 * w, "{w} against {wa} + {wb}");
    let added = (a.mapv(|x| x as f64) * wa + b.mapv(|x| x as f64) * wb) / (wa + wb);
    let err = crate::common::rel_l2(
        whole.iter().map(|&x| (x as f64, 0.0)),
        added.iter().map(|&x| (x, 0.0)),
    );
    assert!(err <= 1e-5, "{err:e}");
}

/// Blocks read are gathered into batches, one gridder call each: the image does not
/// depend on the block size read (the same bits from 1 block and from many, in one
/// batch), and a batch budget smaller than the file grids it in several calls that agree
/// with one call within the accuracy contract (ε = 1e-6 in f64, stored as f32).
#[test]
fn blocks_are_gridded_in_batches_whatever_their_size() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.uvh5");
    let (vis, _) = one_source();
    fxgrid::io::uvh5::write_uvh5(&v, &vis).unwrap();
    let v = v.display().to_string();
    let image = |name: &str, extra: &[&str]| {
        let (img, report) = image_in_f64(dir.path(), &v, ("256", "30"), name, extra);
        let count = |k: &str| report[k].as_u64().unwrap();
        (img, count("blocks"), count("batches"))
    };
    let (one, blocks, batches) = image("one", &[]);
    assert_eq!((blocks, batches), (1, 1));
    let (many, blocks, batches) = image("many", &["--block-samples", "5000"]);
    assert!(blocks >= 8, "{blocks}");
    assert_eq!(batches, 1);
    assert_eq!(one, many);
    let (split, _, batches) = image(
        "split",
        &["--block-samples", "5000", "--vis-mem-gb", "1e-5"],
    );
    assert!(batches >= 4, "{batches}");
    let err = crate::common::rel_l2(
        split.iter().map(|&x| (x as f64, 0.0)),
        one.iter().map(|&x| (x as f64, 0.0)),
    );
    assert!(err <= 1e-5, "{err:e}");
}
