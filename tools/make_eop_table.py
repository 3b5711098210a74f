#!/usr/bin/env python3
"""Regenerate data/eop.csv: the Earth-orientation table compiled into fxgrid.

The values are those astropy uses offline (its bundled astropy-iers-data tables, IERS
Bulletin A/B), sampled at 0h UTC of each day, so that fxgrid's sidereal times and apparent
places agree with astropy and pyuvdata on the same machine. Columns: MJD (UTC), UT1-UTC (s),
polar motion x and y (arcsec). Run with a Python that has astropy:

    python tools/make_eop_table.py --start-mjd 51544 > data/eop.csv
"""
import argparse

import numpy as np
from astropy.time import Time
from astropy.utils import iers
from astropy.utils.data import conf

ap = argparse.ArgumentParser()
ap.add_argument("--start-mjd", type=int, default=51544)  # 2000-01-01
args = ap.parse_args()

iers.conf.auto_download = False
conf.allow_internet = False
iers.conf.auto_max_age = None  # keep the predicted tail of Bulletin A too
table = iers.earth_orientation_table.get()
mjd_end = int(np.floor(np.max(table["MJD"].value)))
mjds = np.arange(args.start_mjd, mjd_end + 1)
t = Time(mjds, format="mjd", scale="utc")
dut1, status = t.get_delta_ut1_utc(return_status=True)
ok = status >= 0
xp, yp = table.pm_xy(t)
import astropy_iers_data
print(f"# fxgrid EOP table: astropy {__import__('astropy').__version__}, "
      f"astropy-iers-data {astropy_iers_data.__version__}; MJD {mjds[ok][0]}..{mjds[ok][-1]}")
print("# mjd_utc,ut1_minus_utc_s,xp_arcsec,yp_arcsec")
for m, d, x, y, good in zip(mjds, np.asarray(dut1), np.asarray(xp.to_value("arcsec")),
                             np.asarray(yp.to_value("arcsec")), ok):
    if good:
        print(f"{m},{d:.7f},{x:.6f},{y:.6f}")
