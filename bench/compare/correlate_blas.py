#!/usr/bin/env python3
"""OpenBLAS `cherk` (through scipy) as an X-engine on the workload of `cargo bench --bench
correlate`: for every channel, the Hermitian product of the [inputs × spectra] block with
itself, one triangle; "useful" GFLOP/s count 8 flops per complex multiply-accumulate on
the n(n+1)/2 unique products. Medians of rounds, per thread count.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE may be set on this machine for old OpenBLAS builds;
run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` to let OpenBLAS pick its kernel.

    python bench/compare/correlate_blas.py --inputs 512,1024 --threads 1,2
"""
import argparse
import os
import subprocess
import sys

from common import summary


def measure(n_in, spectra, chans, threads, rounds):
    from common import limit_threads, median_time

    limit_threads(threads)
    import numpy as np
    from scipy.linalg import blas

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((chans, n_in, spectra)) + 1j * rng.standard_normal((chans, n_in, spectra))).astype(np.complex64)
    xf = [np.asfortranarray(x[c]) for c in range(chans)]

    def run():
        for c in range(chans):
            blas.cherk(1.0, xf[c], lower=0, trans=0)

    t = median_time(run, rounds)
    flops = 8.0 * n_in * (n_in + 1) / 2 * spectra * chans
    return flops / t / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", default="512,1024")
    ap.add_argument("--spectra", type=int, default=256)
    ap.add_argument("--chans", type=int, default=8)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(measure(a.one[0], a.spectra, a.chans, a.one[1], a.rounds))
        return
    rows = []
    for n_in in [int(v) for v in a.inputs.split(",")]:
        for th in [int(v) for v in a.threads.split(",")]:
            # A fresh process per thread count: BLAS pools are fixed once started.
            out = subprocess.run([sys.executable, __file__, "--one", str(n_in), str(th),
                                  "--spectra", str(a.spectra), "--chans", str(a.chans), "--rounds", str(a.rounds)],
                                 check=True, capture_output=True, text=True, env=os.environ).stdout
            g = float(out.strip().splitlines()[-1])
            print(f"cherk {n_in} inputs, {th} thread(s): {g:.1f} useful GFLOP/s")
            rows.append(dict(inputs=n_in, threads=th, useful_gflop_s=g))
    summary(tool="scipy BLAS cherk", spectra=a.spectra, chans=a.chans, rows=rows)


if __name__ == "__main__":
    main()
