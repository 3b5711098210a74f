//! Polyphase filterbank throughput in input samples per second (one complex sample = one
//! sample), summed over eight streams (inputs: antennas × polarisations, as an F-engine
//! has many), with 1 or 2 threads; and rustfft alone at the same FFT lengths, for the
//! PFB/FFT ratio. Eight streams rather than one per thread let rayon even out a thread
//! that the (shared) machine slows down, as it does for a real F-engine's many inputs.
//!
//! Sizes: 4096 channels × 12 taps (SKA-Low-like), 4096 × 8 and 1024 × 8 (the workloads of
//! `bench/compare/pfb_numpy.py`); complex float32 and complex int8 input; critically
//! sampled and oversampled by 32/27.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fxgrid::channelise::{Pfb, PfbConfig, PfbState, Sample};
use num_complex::{Complex, Complex32};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rustfft::FftPlanner;

/// Samples per stream (2^20 = 8 MiB of complex float32 per stream, 64 MiB in all, far
/// beyond the caches); `FXGRID_BENCH_LOG2_SAMPLES` overrides it for experiments.
fn samples_per_stream() -> usize {
    let log2 = std::env::var("FXGRID_BENCH_LOG2_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20u32);
    1 << log2
}
const STREAMS: usize = 8;

/// Stream each input through its filterbank into a preallocated output buffer, as a
/// streaming reader does (no allocation or page faults inside the timed loop).
fn run<S: Sample>(
    pfb: &Pfb,
    states: &mut [PfbState],
    inputs: &[&[S]],
    outs: &mut [Vec<Complex32>],
) {
    states
        .par_iter_mut()
        .zip(inputs.par_iter())
        .zip(outs.par_iter_mut())
        .for_each(|((st, x), out)| {
            let need = pfb.spectra_ready(st, x.len()) * pfb.n_out();
            if out.len() < need {
                out.resize(need, Complex32::default());
            }
            pfb.process_into(st, x, out);
        });
}

fn bench_pfb(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let xf: Vec<Vec<Complex<f32>>> = (0..STREAMS)
        .map(|_| {
            (0..samples_per_stream())
                .map(|_| Complex::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
                .collect()
        })
        .collect();
    let xb: Vec<Vec<Complex<i8>>> = (0..STREAMS)
        .map(|_| {
            (0..samples_per_stream())
                .map(|_| Complex::new(rng.random::<i8>(), rng.random::<i8>()))
                .collect()
        })
        .collect();
    let mut group = c.benchmark_group("pfb");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(3));
    group.throughput(Throughput::Elements(
        (samples_per_stream() * STREAMS) as u64,
    ));
    for (n, t) in [(4096usize, 12usize), (4096, 8), (1024, 8)] {
        for (os_name, os) in [("critical", (1usize, 1usize)), ("os32_27", (32, 27))] {
            let pfb = Pfb::new(&PfbConfig {
                n_chan: n,
                n_taps: t,
                oversampling: os,
                ..Default::default()
            })
            .unwrap();
            for threads in [1usize, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut states: Vec<PfbState> = (0..STREAMS).map(|_| pfb.new_state()).collect();
                let mut outs: Vec<Vec<Complex32>> = vec![Vec::new(); STREAMS];
                let id = |ty: &str| {
                    BenchmarkId::new(
                        format!("{n}ch_{t}tap_{os_name}_{ty}"),
                        format!("{threads}thr"),
                    )
                };
                let inputs: Vec<&[Complex<f32>]> = xf.iter().map(|v| v.as_slice()).collect();
                group.bench_function(id("cf32"), |b| {
                    b.iter(|| pool.install(|| run(&pfb, &mut states, &inputs, &mut outs)))
                });
                let inputs: Vec<&[Complex<i8>]> = xb.iter().map(|v| v.as_slice()).collect();
                group.bench_function(id("ci8"), |b| {
                    b.iter(|| pool.install(|| run(&pfb, &mut states, &inputs, &mut outs)))
                });
            }
        }
    }
    group.finish();

    // rustfft alone: the same streams as the PFB, transformed in place (the same number of
    // samples as a critically sampled PFB transforms), with 1 or 2 threads: the machine's
    // own scaling of the FFT, against which the PFB's 2-thread figure is read.
    let mut group = c.benchmark_group("rustfft_alone");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(3));
    group.throughput(Throughput::Elements(
        (samples_per_stream() * STREAMS) as u64,
    ));
    for n in [4096usize, 1024] {
        let fft = FftPlanner::<f32>::new().plan_fft_forward(n);
        let mut bufs: Vec<Vec<Complex32>> = xf.clone();
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let fft = &fft;
            group.bench_function(
                BenchmarkId::new(format!("{n}pt"), format!("{threads}thr")),
                |b| {
                    b.iter(|| {
                        pool.install(|| {
                            bufs.par_iter_mut().for_each_init(
                                || vec![Complex32::default(); fft.get_inplace_scratch_len()],
                                |scratch, buf| fft.process_with_scratch(buf, scratch),
                            )
                        })
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_pfb);
criterion_main!(benches);
