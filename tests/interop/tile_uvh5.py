#!/usr/bin/env python3
"""Make a large UVH5 file for memory measurements by repeating a small one in time.

    tile_uvh5.py SMALL.uvh5 BIG.uvh5 REPEATS

Every per-baseline-time array and the three data sets are written REPEATS times, copy k
with its times (and LSTs) shifted by k times the span of SMALL. uvw, apparent
coordinates and visibilities are copied unchanged, so the result is a well-formed UVH5
file (pyuvdata reads it) whose later copies are not a physical observation: it is for
measuring memory and throughput, not for imaging science. Data are written uncompressed
and in chunks, so the size on disk is REPEATS times the data of SMALL.
"""

import sys

import h5py
import numpy as np


def main():
    src, dst, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with h5py.File(src, "r") as fi, h5py.File(dst, "w") as fo:
        hi, ho = fi["Header"], fo.create_group("Header")
        nblts = int(hi["Nblts"][()])
        t = hi["time_array"][()]
        span = (t.max() - t.min()) + np.median(hi["integration_time"][()]) / 86400.0
        per_blt = {k for k in hi if isinstance(hi[k], h5py.Dataset)
                   and hi[k].shape[:1] == (nblts,) and k != "antenna_names"}
        for k in hi:
            if isinstance(hi[k], h5py.Group):
                fi.copy(hi[k], ho, name=k)
            elif k in per_blt:
                a = hi[k][()]
                parts = []
                for r in range(reps):
                    if k == "time_array":
                        parts.append(a + r * span)
                    elif k == "lst_array":
                        parts.append(np.mod(a + r * span * 2 * np.pi * 1.00273781191135448, 2 * np.pi))
                    else:
                        parts.append(a)
                ho.create_dataset(k, data=np.concatenate(parts))
            else:
                ho.create_dataset(k, data=hi[k][()])
        ho["Nblts"][()] = nblts * reps
        ho["Ntimes"][()] = int(hi["Ntimes"][()]) * reps
        di, do = fi["Data"], fo.create_group("Data")
        for k in ("visdata", "flags", "nsamples"):
            a = di[k][()]
            shape = (nblts * reps,) + a.shape[1:]
            ds = do.create_dataset(k, shape=shape, dtype=a.dtype,
                                   chunks=(min(nblts, 4096),) + a.shape[1:])
            for r in range(reps):
                ds[r * nblts:(r + 1) * nblts] = a
            print(k, shape, flush=True)


if __name__ == "__main__":
    main()
