#!/usr/bin/env python3
"""Compares cleaned images with the truth and with each other: for every point source of
a sky-model file (fxgrid's text format), the restored image's brightest pixel within
--search pixels of the true position (the restored point flux, Jy/beam = Jy for a point),
its error against the true flux at the image's frequency, and the residual image's noise
(σ from the median absolute deviation) and the restoring beam. Several images side by
side (e.g. fxgrid's and WSClean's) give one table.

    python bench/compare/clean_compare.py --sky field.sky \\
        --image fxgrid fx-image.fits fx-residual.fits --image wsclean ws-image.fits ws-residual.fits
With --model NAME MODEL.fits COMPONENTS (fxgrid's --model and --components), the model
flux within twice the major FWHM of each Gaussian source of --sky, against its true flux,
and how many components make it up (points of the sky within that circle are left out of
the sum, at their true flux, and named).

Last stdout line: JSON with, per image, the beam, sigma, the median |error| (%) of the
point sources above --snr sigma, the worst, and the largest |error| − 3σ; per model, the
Gaussians' model flux and component counts.
"""
import argparse
import json

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS


def read_sky(path):
    pts, gauss = [], []
    for line in open(path):
        line = line.split("#")[0].split()
        if not line:
            continue
        kind, ra, dec, s, f0, alpha = line[0], *map(float, line[1:6])
        (pts if kind == "point" else gauss).append((ra, dec, s, f0, alpha, line[6:]))
    return pts, gauss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sky", required=True)
    ap.add_argument("--image", nargs=3, action="append", metavar=("NAME", "RESTORED", "RESIDUAL"), default=[])
    ap.add_argument("--model", nargs=3, action="append", metavar=("NAME", "MODEL", "COMPONENTS"), default=[])
    ap.add_argument("--search", type=int, default=1)
    ap.add_argument("--snr", type=float, default=20.0)
    a = ap.parse_args()
    pts, gauss = read_sky(a.sky)
    out = {}
    for name, model, comps in a.model:
        out[name] = gaussian_flux(model, comps, pts, gauss)
    for name, restored, residual in a.image:
        hdr = fits.getheader(restored)
        img = np.squeeze(fits.getdata(restored)).astype(np.float64)
        res = np.squeeze(fits.getdata(residual)).astype(np.float64)
        if img.ndim == 3:
            img, res = img[0], res[0]
        w = WCS(hdr).celestial
        freq = hdr.get("CRVAL3", 0.0)
        sigma = 1.4826 * np.median(np.abs(res - np.median(res)))
        rows = []
        for ra, dec, s, f0, alpha, _ in pts:
            truth = s * (freq / f0) ** alpha if freq > 0 else s
            x, y = w.world_to_pixel_values(ra, dec)
            xi, yi = int(round(float(x))), int(round(float(y)))
            k = a.search
            box = img[yi - k:yi + k + 1, xi - k:xi + k + 1]
            got = float(box.flat[np.argmax(np.abs(box))])
            rows.append(dict(ra=ra, dec=dec, truth=truth, got=got, err_pct=100 * (got - truth) / truth,
                             snr=truth / sigma))
        bright = [r for r in rows if r["snr"] >= a.snr]
        errs = np.array([abs(r["err_pct"]) for r in bright])
        excess = [abs(r["got"] - r["truth"]) - (0.05 * r["truth"] + 3 * sigma) for r in bright]
        beam = [hdr.get("BMAJ", 0) * 3600, hdr.get("BMIN", 0) * 3600, hdr.get("BPA", 0)]
        print(f"{name}: sigma {sigma * 1e3:.4f} mJy/beam, beam {beam[0]:.3f}\" x {beam[1]:.3f}\" PA {beam[2]:.2f}")
        for r in rows:
            print(f"  {r['truth']:9.5f} Jy  got {r['got']:9.5f}  error {r['err_pct']:+7.3f} %  snr {r['snr']:8.1f}")
        out[name] = dict(sigma_jy=sigma, beam_arcsec_deg=beam, n_bright=len(bright),
                         median_abs_err_pct=float(np.median(errs)) if len(errs) else None,
                         max_abs_err_pct=float(errs.max()) if len(errs) else None,
                         worst_excess_over_5pct_3sigma_jy=float(max(excess)) if excess else None)
    print(json.dumps(out))


def sep_arcsec(ra1, dec1, ra2, dec2):
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    c = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(r1 - r2)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0))) * 3600.0


def gaussian_flux(model_path, comps_path, pts, gauss):
    hdr = fits.getheader(model_path)
    model = np.squeeze(fits.getdata(model_path)).astype(np.float64)
    if model.ndim == 3:
        model = model[0]
    w = WCS(hdr).celestial
    freq = hdr.get("CRVAL3", 0.0)
    yy, xx = np.mgrid[: model.shape[0], : model.shape[1]]
    comps, comp_gauss = read_sky(comps_path)
    comps = comps + comp_gauss
    rows = []
    for ra, dec, s, f0, alpha, shape in gauss:
        truth = s * (freq / f0) ** alpha if freq > 0 else s
        radius = 2.0 * float(shape[0])  # arcsec
        x, y = w.world_to_pixel_values(ra, dec)
        cell = abs(hdr["CDELT2"]) * 3600.0
        inside = (xx - float(x)) ** 2 + (yy - float(y)) ** 2 <= (radius / cell) ** 2
        flux = float(model[inside].sum())
        others = [(p_ra, p_dec, p_s) for p_ra, p_dec, p_s, *_ in pts if sep_arcsec(ra, dec, p_ra, p_dec) <= radius]
        flux -= sum(s_ for *_, s_ in others)
        n = sum(1 for c in comps if sep_arcsec(ra, dec, c[0], c[1]) <= radius)
        print(f"{model_path}: Gaussian of {truth:.4f} Jy at {ra:.5f} {dec:.5f}: model {flux:.4f} Jy "
              f"({100 * (flux - truth) / truth:+.2f} %), {n} components within {radius:.0f}\"")
        rows.append(dict(ra=ra, dec=dec, truth=truth, model_jy=flux,
                         err_pct=100 * (flux - truth) / truth, components=n, points_inside=len(others)))
    return dict(gaussians=rows)


if __name__ == "__main__":
    main()
