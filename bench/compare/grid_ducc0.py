#!/usr/bin/env python3
"""ducc0's wgridder on the gridding workload of `cargo bench --bench grid`: visibilities per
second of vis2dirty and dirty2vis (whole call), at each precision/ε, w-term off and on,
and thread count; medians of interleaved rounds. Run it right before or after the bench.

fxgrid's sign conventions differ from ducc0's (docs/CONVENTIONS.md): ducc0 is fed conj(V)
and −w so that both compute the same image; that costs nothing in the timed calls.

    python bench/compare/grid_ducc0.py --data /tmp/skalow.h5 --configs f32:1e-4,f64:1e-7 --threads 1,2
"""
import argparse

import h5py
import numpy as np

from common import median_time, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="file from make_grid_data.py")
    ap.add_argument("--configs", default="f32:1e-4,f64:1e-7")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    import ducc0

    with h5py.File(a.data, "r") as f:
        uvw = f["uvw_m"][...].copy()
        freq = f["freq_hz"][...]
        vis64 = f["vis"][...]
        npix = int(f.attrs["npix"])
        pix = float(f.attrs["pixsize_rad"])
    uvw[:, 2] *= -1.0
    rows = []
    for cfg in a.configs.split(","):
        prec, eps = cfg.split(":")
        dt = np.complex64 if prec == "f32" else np.complex128
        vis = np.conj(vis64).astype(dt)
        nvis = vis.size
        for wstack in (False, True):
            for nthreads in [int(t) for t in a.threads.split(",")]:
                kw = dict(pixsize_x=pix, pixsize_y=pix, epsilon=float(eps), do_wgridding=wstack, nthreads=nthreads)
                dirty = ducc0.wgridder.vis2dirty(uvw=uvw, freq=freq, vis=vis, npix_x=npix, npix_y=npix, **kw)
                tg = median_time(lambda: ducc0.wgridder.vis2dirty(uvw=uvw, freq=freq, vis=vis, npix_x=npix, npix_y=npix, **kw), a.rounds)
                td = median_time(lambda: ducc0.wgridder.dirty2vis(uvw=uvw, freq=freq, dirty=dirty, **kw), a.rounds)
                row = dict(precision=prec, epsilon=float(eps), wstacking=wstack, threads=nthreads,
                           grid_mvis_s=nvis / tg / 1e6, degrid_mvis_s=nvis / td / 1e6)
                print(f"{prec} {eps} w={'on ' if wstack else 'off'} {nthreads} thr: grid {row['grid_mvis_s']:.2f} Mvis/s, degrid {row['degrid_mvis_s']:.2f} Mvis/s")
                rows.append(row)
    summary(tool=f"ducc0 {ducc0.__version__}", rows=rows)


if __name__ == "__main__":
    main()
