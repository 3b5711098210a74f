//! X-engine throughput: 256 and 512 dual-polarisation antennas (512 and 1024 inputs), 256
//! spectra, 8 channels, float32 and int8 input, 1 and 2 threads. Throughput is reported in
//! useful flops (8 per complex multiply-accumulate on the n(n+1)/2 unique products per
//! spectrum per channel), so Criterion's "elem/s" reads as flop/s; spectra/s = flop/s ÷
//! (8 · n(n+1)/2 · channels).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fxgrid::correlate::{Correlator, CorrelatorConfig, XSample};
use num_complex::{Complex, Complex32};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N_SPEC: usize = 256;
const N_CHAN: usize = 8;

fn bench_x(c: &mut Criterion) {
    let mut group = c.benchmark_group("xengine");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(4));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for n_ant in [256usize, 512] {
        let n_in = 2 * n_ant;
        let len = N_SPEC * N_CHAN * n_in;
        let xf: Vec<Complex32> = (0..len)
            .map(|_| Complex32::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
            .collect();
        let xb: Vec<Complex<i8>> = (0..len)
            .map(|_| Complex::new(rng.random(), rng.random()))
            .collect();
        let flops = 8 * (n_in * (n_in + 1) / 2) * N_SPEC * N_CHAN;
        group.throughput(Throughput::Elements(flops as u64));
        let corr = Correlator::new(&CorrelatorConfig {
            n_ant,
            n_chan: N_CHAN,
            int_spectra: N_SPEC,
            f64_accumulation: false,
            scale: 1.0,
            flagged_inputs: vec![],
            simd: None,
        })
        .unwrap();
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut st = corr.new_state();
            fn once<S: XSample>(
                c: &Correlator,
                st: &mut fxgrid::correlate::CorrelatorState,
                x: &[S],
            ) -> usize {
                // Output vectors go back to the state, as a streaming caller does
                // (`Correlator::recycle`).
                let done = c.push(st, x).unwrap();
                let n = done.len();
                for it in done {
                    c.recycle(st, it);
                }
                n
            }
            group.bench_function(
                BenchmarkId::new(format!("{n_in}in_cf32"), format!("{threads}thr")),
                |b| b.iter(|| pool.install(|| once(&corr, &mut st, &xf))),
            );
            group.bench_function(
                BenchmarkId::new(format!("{n_in}in_ci8"), format!("{threads}thr")),
                |b| b.iter(|| pool.install(|| once(&corr, &mut st, &xb))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_x);
criterion_main!(benches);
