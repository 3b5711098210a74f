//! CLEAN end to end: point sources recovered noise-free, the residual at the thermal noise
//! with noise, the CLI's outputs, `--niter 0` unchanged, and bad parameters refused.

use fxgrid::deconvolve::{clean_visibilities, CleanConfig, StopReason};
use fxgrid::grid::weighting::{RankFilter, Weighting};
use fxgrid::grid::Precision;
use fxgrid::image::{lm_to_radec, ImageGeometry, ImagingConfig, Stokes};
use fxgrid::progress::NoProgress;
use fxgrid::sky::{predict, Component, PredictConfig, SkyModel};
use fxgrid::telescope::{ska_low_like, Observation, RaDec};

fn observation(centre: RaDec, n_times: usize, n_chan: usize) -> Observation {
    Observation {
        phase_centre: centre,
        start_jd_utc: fxgrid::telescope::default_day_jd_utc() + 0.64,
        n_times,
        int_time_s: 120.0,
        freq_start_hz: 150e6,
        chan_width_hz: 1e6,
        n_chan,
    }
}

fn config(npix: usize, cell_rad: f64, precision: Precision, epsilon: f64) -> ImagingConfig {
    ImagingConfig {
        npix_x: npix,
        npix_y: npix,
        cell_rad: Some(cell_rad),
        weighting: Weighting::Briggs(0.0),
        weight_rank_filter: Some(RankFilter::default()),
        epsilon,
        precision,
        wstacking: None,
        channels: None,
        per_channel: false,
    }
}

/// The automatic cell (a third of the finest fringe) of `layout` observing `obs`.
fn cell_of(layout: &fxgrid::telescope::ArrayLayout, obs: &Observation) -> f64 {
    let one = SkyModel::new(vec![Component::point(obs.phase_centre, 1.0)]).unwrap();
    let vis = predict(layout, obs, &one, &PredictConfig::default()).unwrap();
    let uvw = vis.uvw_m();
    let uv_max = uvw
        .outer_iter()
        .flat_map(|t| t.outer_iter().map(|b| b[0].hypot(b[1])).collect::<Vec<_>>())
        .fold(0.0, f64::max);
    let fmax = obs.freq_start_hz + (obs.n_chan - 1) as f64 * obs.chan_width_hz;
    fxgrid::image::auto_cell_rad(uv_max * fmax / fxgrid::telescope::SPEED_OF_LIGHT_M_S).unwrap()
}

/// `n` point sources at pixel centres of a `npix²` image (log-spaced fluxes from `lo` to
/// `hi` Jy, spread over the inner 70 %, at least 12 pixels apart): `(row, col, flux)` and
/// the sky model.
fn field(
    npix: usize,
    cell_rad: f64,
    n: usize,
    lo: f64,
    hi: f64,
    centre: RaDec,
) -> (Vec<(usize, usize, f64)>, SkyModel) {
    let geom = ImageGeometry {
        phase_centre: centre,
        npix_x: npix,
        npix_y: npix,
        cell_x_rad: cell_rad,
        cell_y_rad: cell_rad,
        freqs_hz: vec![150e6],
        freq_width_hz: 1e6,
        stokes: Stokes::I,
        date_obs_jd_utc: 0.0,
    };
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut next = |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    let span = (npix as f64 * 0.7) as usize;
    let off = (npix - span) / 2;
    let mut pts: Vec<(usize, usize, f64)> = Vec::new();
    while pts.len() < n {
        let (r, c) = (off + next(span), off + next(span));
        if pts
            .iter()
            .all(|&(pr, pc, _)| pr.abs_diff(r).max(pc.abs_diff(c)) >= 12)
        {
            let k = pts.len() as f64 / (n - 1) as f64;
            pts.push((r, c, lo * (hi / lo).powf(k)));
        }
    }
    let comps = pts
        .iter()
        .map(|&(r, c, s)| {
            let (l, m) = geom.pixel_to_lm(r as f64, c as f64);
            Component::point(lm_to_radec(centre, l, m).unwrap(), s)
        })
        .collect();
    (pts, SkyModel::new(comps).unwrap())
}

#[test]
fn noise_free_point_sources_are_recovered_to_half_a_percent() {
    let centre = RaDec::from_degrees(60.0, -30.0);
    let npix = 1024;
    let layout = ska_low_like(96, 3).unwrap();
    let obs = observation(centre, 4, 2);
    let cell = cell_of(&layout, &obs);
    let (pts, sky) = field(npix, cell, 20, 0.05, 2.0, centre);
    let vis = predict(
        &layout,
        &obs,
        &sky,
        &PredictConfig {
            precision: fxgrid::Precision::F64,
            ..Default::default()
        },
    )
    .unwrap();
    let peak = 2.0;
    let clean_cfg = CleanConfig {
        niter: 1_000_000,
        threshold_jy: 1e-4 * peak,
        max_major: 30,
        ..Default::default()
    };
    let (images, reports) = clean_visibilities(
        &vis,
        &config(npix, cell, Precision::F64, 1e-7),
        &clean_cfg,
        &NoProgress,
    )
    .unwrap();
    let rep = &reports[0];
    assert_eq!(rep.clean.stop, StopReason::Threshold, "{:?}", rep.clean);
    assert!(rep.clean.cycles.len() >= 2);
    let restored = &images.restored.data;
    for &(r, c, s) in &pts {
        let got = restored[[0, r, c]] as f64;
        assert!(
            (got / s - 1.0).abs() <= 5e-3,
            "source at ({r}, {c}): restored {got} Jy, true {s} Jy"
        );
    }
    let total: f64 = pts.iter().map(|p| p.2).sum();
    let model: f64 = images.model.data.iter().map(|&v| v as f64).sum();
    assert!(
        (model / total - 1.0).abs() <= 1e-2,
        "model flux {model} Jy, true {total} Jy"
    );
    let res_peak = images
        .residual
        .data
        .iter()
        .fold(0.0f32, |a, v| a.max(v.abs())) as f64;
    assert!(res_peak <= 1e-3 * peak, "residual peak {res_peak}");
    // The restoring beam is in the header and the units say what the images are.
    assert!(images.restored.beam.is_some() && images.model.beam.is_none());
    assert_eq!(
        (images.restored.unit.as_str(), images.model.unit.as_str()),
        ("JY/BEAM", "JY/PIXEL")
    );
    // The components file gives the model back.
    let comps = images.components().unwrap();
    assert_eq!(
        comps.len(),
        images.model.data.iter().filter(|&&v| v != 0.0).count()
    );
}

#[test]
fn with_noise_the_residual_reaches_the_thermal_noise() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let centre = RaDec::from_degrees(60.0, -30.0);
    let npix = 512;
    let layout = ska_low_like(96, 3).unwrap();
    let obs = observation(centre, 4, 2);
    let cell = cell_of(&layout, &obs);
    let (pts, sky) = field(npix, cell, 8, 0.2, 3.0, centre);
    let mut vis = predict(&layout, &obs, &sky, &PredictConfig::default()).unwrap();
    // σ per real and imaginary part of each correlation product: Stokes I = (XX + YY)/2
    // has σ / √2 per part.
    let sigma_vis = 2.0f32;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let g = Normal::new(0.0f32, sigma_vis).unwrap();
    vis.data_mut().mapv_inplace(|v| {
        v + fxgrid::num_complex::Complex::new(g.sample(&mut rng), g.sample(&mut rng))
    });
    let clean_cfg = CleanConfig {
        niter: 1_000_000,
        auto_threshold: Some(3.0),
        ..Default::default()
    };
    let (images, reports) = clean_visibilities(
        &vis,
        &config(npix, cell, Precision::F32, 1e-5),
        &clean_cfg,
        &NoProgress,
    )
    .unwrap();
    let rep = &reports[0];
    let predicted = (sigma_vis as f64 / 2f64.sqrt()) * rep.noise_per_vis_sigma;
    let ratio = rep.clean.sigma / predicted;
    assert!(
        (ratio - 1.0).abs() <= 0.1,
        "residual σ {} against thermal {predicted}",
        rep.clean.sigma
    );
    for &(r, c, s) in &pts {
        let got = images.restored.data[[0, r, c]] as f64;
        assert!(
            (got - s).abs() <= 0.05 * s + 3.0 * rep.clean.sigma,
            "({r}, {c}): {got} vs {s}"
        );
    }
}

#[test]
fn bad_clean_parameters_are_refused() {
    let centre = RaDec::from_degrees(60.0, -30.0);
    let (_, sky) = field(64, 1e-4, 2, 0.5, 1.0, centre);
    let vis = predict(
        &ska_low_like(16, 1).unwrap(),
        &observation(centre, 1, 1),
        &sky,
        &PredictConfig::default(),
    )
    .unwrap();
    for bad in [
        CleanConfig {
            niter: 10,
            gain: 0.0,
            ..Default::default()
        },
        CleanConfig {
            niter: 10,
            mgain: 1.01,
            ..Default::default()
        },
        CleanConfig {
            niter: 10,
            threshold_jy: -0.1,
            ..Default::default()
        },
    ] {
        let e = clean_visibilities(
            &vis,
            &config(64, 1e-4, Precision::F32, 1e-4),
            &bad,
            &NoProgress,
        )
        .unwrap_err();
        assert!(e.to_string().contains("invalid clean parameter"), "{e}");
    }
}

#[cfg(feature = "hdf5")]
mod cli {
    use std::path::Path;

    use crate::common::fxgrid;

    fn simulate(dir: &Path) -> String {
        let out = dir.join("v.uvh5");
        let (ok, _, err) = fxgrid(&[
            "simulate",
            "vis",
            "--layout",
            "ska-low:48",
            "--source",
            "60.2,-29.9,1.5",
            "--source",
            "59.7,-30.3,0.4",
            "--ra-deg",
            "60",
            "--dec-deg",
            "-30",
            "--ntimes",
            "2",
            "--nchan",
            "2",
            "--noise-jy",
            "0.5",
            "--seed",
            "2",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        out.to_str().unwrap().to_string()
    }

    #[test]
    fn clean_writes_every_output_and_niter_zero_is_the_dirty_image() {
        let _guard = crate::common::process_guard();
        let dir = tempfile::tempdir().unwrap();
        let vis = simulate(dir.path());
        let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
        let base = [
            "image",
            vis.as_str(),
            "--npix",
            "256",
            "--precision",
            "f32",
            "--epsilon",
            "1e-5",
        ];
        let (ok, _, err) = fxgrid(&[&base[..], &["--out", &p("dirty.fits")]].concat());
        assert!(ok, "{err}");
        let (ok, _, err) =
            fxgrid(&[&base[..], &["--niter", "0", "--out", &p("dirty0.fits")]].concat());
        assert!(ok, "{err}");
        let a = fxgrid::io::fits::read_fits(Path::new(&p("dirty.fits"))).unwrap();
        let b = fxgrid::io::fits::read_fits(Path::new(&p("dirty0.fits"))).unwrap();
        assert_eq!(a.data, b.data, "--niter 0 is the dirty image, bit for bit");
        assert!(a.beam.is_none());

        let (ok, stdout, err) = fxgrid(
            &[
                &base[..],
                &[
                    "--niter",
                    "10000",
                    "--auto-threshold",
                    "3",
                    "--residual",
                    &p("res.fits"),
                    "--model",
                    &p("model.fits"),
                    "--psf",
                    &p("psf.fits"),
                    "--components",
                    &p("comps.sky"),
                    "--report",
                    &p("rep.json"),
                    "--out",
                    &p("restored.fits"),
                ],
            ]
            .concat(),
        );
        assert!(ok, "{err}");
        assert!(stdout.contains("major cycles"), "{stdout}");
        let restored = fxgrid::io::fits::read_fits(Path::new(&p("restored.fits"))).unwrap();
        let beam = restored.beam.expect("BMAJ, BMIN and BPA are written");
        assert!(beam.major_rad >= beam.minor_rad && beam.minor_rad > 0.0);
        assert_eq!(restored.unit, "JY/BEAM");
        assert_eq!(
            fxgrid::io::fits::read_fits(Path::new(&p("model.fits")))
                .unwrap()
                .unit,
            "JY/PIXEL"
        );
        let sky = fxgrid::sky::SkyModel::read(Path::new(&p("comps.sky"))).unwrap();
        assert!(!sky.is_empty());
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p("rep.json")).unwrap()).unwrap();
        let plane = &rep["planes"][0];
        assert!(
            !plane["major_cycles"].as_array().unwrap().is_empty(),
            "{rep}"
        );
        assert!(
            plane["iterations"].as_u64().unwrap() > 0 && plane["sigma_jy"].as_f64().unwrap() > 0.0
        );
        assert!(rep["memory"]["peak_rss_bytes"].as_u64().unwrap() > 0);

        // One clean per channel: a plane each, each with its own major cycles.
        let (ok, _, err) = fxgrid(
            &[
                &base[..],
                &[
                    "--niter",
                    "2000",
                    "--auto-threshold",
                    "3",
                    "--per-channel",
                    "--report",
                    &p("rep2.json"),
                    "--out",
                    &p("cube.fits"),
                ],
            ]
            .concat(),
        );
        assert!(ok, "{err}");
        let cube = fxgrid::io::fits::read_fits(Path::new(&p("cube.fits"))).unwrap();
        assert_eq!(cube.data.dim().0, 2);
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p("rep2.json")).unwrap()).unwrap();
        let planes = rep["planes"].as_array().unwrap();
        assert_eq!(planes.len(), 2);
        assert!(planes[0]["frequency_hz"].as_f64() < planes[1]["frequency_hz"].as_f64());
    }

    #[test]
    fn a_file_above_the_memory_budget_is_read_again_every_major_cycle() {
        let _guard = crate::common::process_guard();
        let dir = tempfile::tempdir().unwrap();
        let vis = simulate(dir.path());
        let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
        let base = [
            "image",
            vis.as_str(),
            "--npix",
            "256",
            "--precision",
            "f64",
            "--epsilon",
            "1e-9",
            "--niter",
            "5000",
            "--auto-threshold",
            "3",
        ];
        let run = |extra: &[&str], name: &str| {
            let (ok, _, err) = fxgrid(
                &[
                    &base[..],
                    extra,
                    &[
                        "--report",
                        &p(&format!("{name}.json")),
                        "--out",
                        &p(&format!("{name}.fits")),
                    ],
                ]
                .concat(),
            );
            assert!(ok, "{err}");
            let img = fxgrid::io::fits::read_fits(Path::new(&p(&format!("{name}.fits")))).unwrap();
            let rep: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p(&format!("{name}.json"))).unwrap())
                    .unwrap();
            (img, rep)
        };
        let (held, rep_held) = run(&[], "held");
        let (streamed, rep_streamed) = run(
            &["--vis-mem-gb", "1e-9", "--block-samples", "2000"],
            "streamed",
        );
        assert_eq!(rep_held["memory"]["streamed"], false);
        assert_eq!(rep_streamed["memory"]["streamed"], true);
        assert!(rep_streamed["blocks"].as_u64().unwrap() > 1);
        // Block by block the sums are made in another order: the same clean to rounding.
        let (a, b) = (&held.data, &streamed.data);
        let diff: f64 = a
            .iter()
            .zip(b.iter())
            .map(|(x, y)| ((x - y) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let norm: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        assert!(
            diff <= 1e-4 * norm,
            "restored images differ by {}",
            diff / norm
        );
        let flux = |r: &serde_json::Value| r["planes"][0]["model_flux_jy"].as_f64().unwrap();
        assert!((flux(&rep_held) / flux(&rep_streamed) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn bad_clean_arguments_fail_without_output() {
        let _guard = crate::common::process_guard();
        let dir = tempfile::tempdir().unwrap();
        let vis = simulate(dir.path());
        let out = dir.path().join("x.fits");
        let o = out.to_str().unwrap();
        let base = [
            "image",
            vis.as_str(),
            "--npix",
            "128",
            "--cell-arcsec",
            "60",
            "--out",
            o,
        ];
        for (extra, needle) in [
            (&["--niter", "-1"][..], "--niter"),
            (&["--niter", "10", "--gain", "0"][..], "gain"),
            (&["--niter", "10", "--mgain", "1.5"][..], "mgain"),
            (&["--niter", "10", "--threshold-jy", "-1"][..], "threshold"),
            (
                &["--niter", "10", "--auto-threshold", "3", "--auto-mask", "2"][..],
                "auto_mask",
            ),
            (&["--residual", "r.fits"][..], "--niter > 0"),
            (
                &["--niter", "10", "--multiscale", "--scales", "0,8,4"][..],
                "scales",
            ),
            (
                &["--niter", "10", "--multiscale", "--scales", "-2,4"][..],
                "scales",
            ),
        ] {
            let (ok, _, err) = fxgrid(&[&base[..], extra].concat());
            assert!(!ok, "{extra:?} should fail");
            assert!(
                err.contains(needle) && !err.contains("panicked"),
                "{extra:?}: {err}"
            );
            assert!(!out.exists(), "{extra:?} left an output");
        }
    }
}
