#!/usr/bin/env python3
"""pyuvdata places a simulated source where fxgrid put it.

Usage: check_phasing.py FILE.uvh5 RA_DEG DEC_DEG [--max-baseline-m 10000] [--tol-rad 0.02]

Reads a one-source simulation written by `fxgrid simulate vis` (strictly, offline), lets
pyuvdata recompute the phase centre's apparent coordinates and frame position angle itself
and compares them with the file's, then rephases the data with pyuvdata's own `phase()` to
the source's RA/Dec. The visibilities must become real and constant: the residual phase of
XX and YY on every cross-correlation up to the baseline limit must stay below the
tolerance. Prints one JSON line; exit 0 on success, 1 on failure.
"""
import argparse
import json
import sys
import warnings

import numpy as np


def offline_astropy():
    """Neither this machine nor CI reaches the internet: astropy must use the Earth
    orientation tables it ships instead of trying to download newer ones."""
    from astropy.utils import iers
    from astropy.utils.data import conf

    iers.conf.auto_download = False
    conf.allow_internet = False


ap = argparse.ArgumentParser()
ap.add_argument("path")
ap.add_argument("ra_deg", type=float)
ap.add_argument("dec_deg", type=float)
ap.add_argument("--max-baseline-m", type=float, default=10_000.0)
ap.add_argument("--tol-rad", type=float, default=0.02)
args = ap.parse_args()

offline_astropy()
from pyuvdata import UVData  # noqa: E402

with warnings.catch_warnings(record=True) as wl:
    warnings.simplefilter("always")
    uv = UVData.from_file(args.path, run_check=True, check_extra=True,
                          run_check_acceptability=True, strict_uvw_antpos_check=True)
out = {"warnings": sorted({str(w.message)[:200] for w in wl})}

# pyuvdata's own apparent coordinates and frame position angle for this phase centre
ours = (uv.phase_center_app_ra.copy(), uv.phase_center_app_dec.copy(), uv.phase_center_frame_pa.copy())
uv._set_app_coords_helper()
mas = np.pi / (180 * 3600 * 1000)
d_ra = np.angle(np.exp(1j * (ours[0] - uv.phase_center_app_ra))) * np.cos(ours[1])
out["app_ra_max_diff_mas"] = float(np.max(np.abs(d_ra)) / mas)
out["app_dec_max_diff_mas"] = float(np.max(np.abs(ours[1] - uv.phase_center_app_dec)) / mas)
out["frame_pa_max_diff_mas"] = float(np.max(np.abs(ours[2] - uv.phase_center_frame_pa)) / mas)
uv.phase_center_app_ra, uv.phase_center_app_dec, uv.phase_center_frame_pa = ours

blen = np.linalg.norm(uv.uvw_array, axis=1)
keep = (uv.ant_1_array != uv.ant_2_array) & (blen <= args.max_baseline_m)
uv.phase(lon=np.radians(args.ra_deg), lat=np.radians(args.dec_deg), cat_name="source",
         cat_type="sidereal", phase_frame="icrs")
pols = list(uv.polarization_array)
vis = uv.data_array[keep][:, :, [pols.index(-5), pols.index(-6)]]
phase = np.angle(vis)
amp = np.abs(vis)
out["n_baselines_times"] = int(keep.sum())
out["max_baseline_m"] = float(blen[keep].max())
out["max_abs_residual_phase_rad"] = float(np.max(np.abs(phase)))
out["rms_residual_phase_rad"] = float(np.sqrt(np.mean(phase**2)))
out["amp_min_max"] = [float(amp.min()), float(amp.max())]
ok = out["max_abs_residual_phase_rad"] < args.tol_rad
ok &= float(amp.max() - amp.min()) <= 1e-3 * float(amp.max())
out["ok"] = bool(ok)
print(json.dumps(out))
sys.exit(0 if ok else 1)
