//! Direct-DFT prediction throughput, in visibility·component terms per second
//! (one term = one baseline × time × channel × component; the four polarisation products
//! of an unpolarised sky share it).
//!
//! Workload: 512 SKA-Low-like stations (131 328 baselines with autos), one 10 s
//! integration, 16 channels at 150 MHz, 20 point sources; f32 and f64 arithmetic, 1 and 2
//! threads.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fxgrid::sky::{predict, random_field, PredictConfig, RandomFieldConfig};
use fxgrid::telescope::{
    default_day_jd_utc, ska_low_like, transit_centred_start, Observation, RaDec,
};

fn bench_predict(c: &mut Criterion) {
    let layout = ska_low_like(512, 1).unwrap();
    let centre = RaDec::from_degrees(60.0, -30.0);
    let obs = Observation {
        phase_centre: centre,
        start_jd_utc: transit_centred_start(&layout, centre, default_day_jd_utc(), 10.0).unwrap(),
        n_times: 1,
        int_time_s: 10.0,
        freq_start_hz: 150e6,
        chan_width_hz: 1e5,
        n_chan: 16,
    };
    let sky = random_field(&RandomFieldConfig {
        n_sources: 20,
        centre,
        ..Default::default()
    })
    .unwrap();
    let n_bl = layout.n_ant() * (layout.n_ant() + 1) / 2;
    let terms = (n_bl * obs.n_times * obs.n_chan * sky.len()) as u64;
    let mut group = c.benchmark_group("predict_512st_16ch_20src");
    group.sample_size(10);
    group.throughput(Throughput::Elements(terms));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for (name, precision) in [
            ("f32", fxgrid::Precision::F32),
            ("f64", fxgrid::Precision::F64),
        ] {
            let cfg = PredictConfig {
                precision,
                ..Default::default()
            };
            group.bench_with_input(
                BenchmarkId::new(name, format!("{threads}thr")),
                &cfg,
                |b, cfg| b.iter(|| pool.install(|| predict(&layout, &obs, &sky, cfg).unwrap())),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_predict);
criterion_main!(benches);
