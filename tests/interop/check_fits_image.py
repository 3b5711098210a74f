#!/usr/bin/env python3
"""Check a FITS image with astropy and print what it found as JSON (last line).

Checks: a 2-D celestial WCS with SIN projection on the first two axes, finite pixels,
and optionally that the brightest pixel is at RA/Dec (`--expect-peak`, within
`--tol-arcsec`, default 1.5 pixels) and that the Stokes axis holds the given parameter.
The JSON gives the peak's value, its sky position by astropy's WCS and its distance from
the expected position.

    python tests/interop/check_fits_image.py IMAGE.fits [--expect-peak RA DEC] [--expect-stokes I]
"""
import argparse
import json
import sys

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
import astropy.units as u

STOKES_CODES = {1: "I", 2: "Q", 3: "U", 4: "V"}


def fail(msg: str) -> int:
    print(json.dumps({"ok": False, "error": msg}))
    return 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("--expect-peak", nargs=2, type=float, metavar=("RA_DEG", "DEC_DEG"))
    ap.add_argument("--tol-arcsec", type=float, default=None)
    ap.add_argument("--expect-stokes", default=None)
    a = ap.parse_args()

    with fits.open(a.path) as hdul:
        hdr = hdul[0].header
        data = np.asarray(hdul[0].data, dtype=np.float64)
    wcs = WCS(hdr)
    if not wcs.has_celestial:
        return fail("no celestial WCS")
    ctypes = [hdr.get(f"CTYPE{i}", "") for i in (1, 2)]
    if not (ctypes[0].startswith("RA") and ctypes[0].endswith("SIN") and ctypes[1].startswith("DEC")):
        return fail(f"axes 1, 2 are {ctypes}: expected RA---SIN, DEC--SIN")
    # The image plane: the first two FITS axes are the last two numpy axes.
    plane = data.reshape((-1,) + data.shape[-2:])[0]
    if not np.all(np.isfinite(plane)):
        return fail("non-finite pixels")
    row, col = np.unravel_index(int(np.argmax(plane)), plane.shape)
    sky = wcs.celestial.pixel_to_world(col, row)
    res = {
        "ok": True,
        "shape": list(data.shape),
        "bunit": str(hdr.get("BUNIT", "")),
        "cdelt_arcsec": [float(hdr["CDELT1"]) * 3600.0, float(hdr["CDELT2"]) * 3600.0],
        "peak": {
            "value": float(plane[row, col]),
            "row": int(row),
            "col": int(col),
            "ra_deg": float(sky.ra.deg),
            "dec_deg": float(sky.dec.deg),
        },
    }
    ok = True
    if a.expect_peak:
        want = SkyCoord(a.expect_peak[0] * u.deg, a.expect_peak[1] * u.deg)
        sep = float(sky.separation(want).arcsec)
        tol = a.tol_arcsec if a.tol_arcsec is not None else 1.5 * abs(float(hdr["CDELT2"])) * 3600.0
        res["peak"]["sep_arcsec"] = sep
        res["peak"]["tol_arcsec"] = tol
        ok &= sep <= tol
    if a.expect_stokes:
        found = None
        for i in range(1, int(hdr["NAXIS"]) + 1):
            if hdr.get(f"CTYPE{i}", "").upper() == "STOKES":
                found = STOKES_CODES.get(int(round(hdr[f"CRVAL{i}"])))
        res["stokes"] = found
        ok &= found == a.expect_stokes
    res["ok"] = bool(ok)
    print(json.dumps(res))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
