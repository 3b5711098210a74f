#!/usr/bin/env python3
"""Compare fxgrid's reading of a UVH5 file (a dump written by `examples/uvh5_dump.rs`) with
pyuvdata's reading of the same file.

    compare_uvh5_read.py FILE.uvh5 DUMP.h5

Data, flags, nsamples, times, frequencies, channel widths, spectral windows,
polarisations, antenna numbers and phase-centre ids must be equal; uvw equal to 1 mm.
pyuvdata reads with `fix_old_proj=False`, so that legacy phased files are compared as
stored (fxgrid does not re-phase them). Exit status 0 when everything agrees.
"""

import sys

import h5py
import numpy as np
from pyuvdata import UVData


def main():
    path, dump = sys.argv[1], sys.argv[2]
    uvd = UVData.from_file(path, fix_old_proj=False)
    with h5py.File(dump, "r") as d:
        got = {k: d[k][()] for k in d}
    want = {
        "data": uvd.data_array,
        "flags": uvd.flag_array.astype(np.uint8),
        "nsamples": uvd.nsample_array,
        "time": uvd.time_array,
        "integration_time": uvd.integration_time,
        "ant_1": uvd.ant_1_array,
        "ant_2": uvd.ant_2_array,
        "freq": uvd.freq_array,
        "channel_width": uvd.channel_width,
        "spw": uvd.flex_spw_id_array,
        "pols": uvd.polarization_array,
        "phase_center_id": uvd.phase_center_id_array,
    }
    bad = []
    for k, w in want.items():
        g = got[k]
        w = np.asarray(w)
        if g.shape != w.shape:
            bad.append(f"{k}: shape {g.shape} (fxgrid) vs {w.shape} (pyuvdata)")
        elif not np.array_equal(g, w.astype(g.dtype) if k != "data" else w):
            n = np.count_nonzero(g != w)
            bad.append(f"{k}: {n} values differ")
    du = np.max(np.abs(got["uvw"] - uvd.uvw_array))
    if not du <= 1e-3:
        bad.append(f"uvw: max difference {du:.3g} m (tolerance 1 mm)")
    # Derived quantities, reported (not required to agree to the last bit).
    dlst = np.max(np.abs(np.angle(np.exp(1j * (got["lst"] - uvd.lst_array)))))
    dra = np.max(np.abs(np.angle(np.exp(1j * (got["app_ra"] - uvd.phase_center_app_ra)))))
    ddec = np.max(np.abs(got["app_dec"] - uvd.phase_center_app_dec))
    print(
        f"{path}: Nblts {uvd.Nblts}, Nfreqs {uvd.Nfreqs}, Npols {uvd.Npols}, Nspws {uvd.Nspws}; "
        f"uvw max diff {du:.2g} m; LST {dlst:.2g} rad, app RA {dra:.2g} rad, app Dec {ddec:.2g} rad"
    )
    for b in bad:
        print("  MISMATCH", b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
