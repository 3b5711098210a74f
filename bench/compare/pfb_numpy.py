#!/usr/bin/env python3
"""A numpy polyphase filterbank on the workload of `cargo bench --bench channelise`:
critically sampled, complex float32 input, N channels, T taps, one thread; input samples
per second per stream (best of rounds). The fold is a blocked FIR over T rows of N
samples, then an FFT per spectrum (numpy's pocketfft, or pyfftw when installed).

    python bench/compare/pfb_numpy.py --nchan 4096,1024 --taps 8
"""
import argparse
import time

from common import limit_threads, summary

limit_threads(1)
import numpy as np  # noqa: E402


def prototype(n, t):
    """Kaiser(β = 9) windowed sinc of N·T taps, unit gain at the channel centres."""
    m = n * t
    x = (np.arange(m) - (m - 1) / 2) / n
    h = np.sinc(x) * np.kaiser(m, 9.0)
    return (h / h.sum()).astype(np.float32)


def pfb(x, h, n, t, fft):
    """Spectra of x (complex64) with taps h: spectrum j folds rows j .. j + T."""
    rows = x.size // n
    xs = x[: rows * n].reshape(rows, n)
    hs = h.reshape(t, n)
    k = rows - t + 1
    acc = xs[0:k] * hs[0]
    for i in range(1, t):
        acc += xs[i : i + k] * hs[i]
    return fft(acc, axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nchan", default="4096,1024")
    ap.add_argument("--taps", default="8")
    ap.add_argument("--samples", type=int, default=1 << 23)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    try:
        import pyfftw.interfaces.numpy_fft as fftmod

        fft_name = "pyfftw"
    except ImportError:
        fftmod = np.fft
        fft_name = "numpy"
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(a.samples) + 1j * rng.standard_normal(a.samples)).astype(np.complex64)
    rows = []
    for n in [int(v) for v in a.nchan.split(",")]:
        for t in [int(v) for v in a.taps.split(",")]:
            h = prototype(n, t)
            # Blocks of 64 spectra keep the working set in cache, as a streaming PFB would.
            block = 64 * n
            def run():
                for s in range(0, x.size - t * n, block):
                    pfb(x[s : s + block + (t - 1) * n], h, n, t, fftmod.fft)
            run()
            best = float("inf")
            for _ in range(a.rounds):
                t0 = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - t0)
            msps = x.size / best / 1e6
            print(f"{n} channels, {t} taps: {msps:.1f} Msamples/s (1 thread, {fft_name} FFT)")
            rows.append(dict(nchan=n, taps=t, msamples_s=msps))
    summary(tool=f"numpy {np.__version__} + {fft_name}", threads=1, rows=rows)


if __name__ == "__main__":
    main()
