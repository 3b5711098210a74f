#!/usr/bin/env python3
"""Write a gridding workload to HDF5 for `FXGRID_GRID_DATA=FILE cargo bench --bench grid`
and `grid_ducc0.py`: the baselines of a centrally condensed SKA-Low-like array (512
stations out to 20 km) over a few hours at Dec −30°, 8 channels near 150 MHz, random
visibilities, and the 2048² Nyquist-sampled image the bench grids onto.

Datasets: `uvw_m` [rows, 3] (f64, metres), `freq_hz` [chan], `vis` [rows, chan]
(complex64); attributes `npix`, `pixsize_rad`.

    python bench/compare/make_grid_data.py --out /tmp/skalow.h5 --nvis 2000000 --seed 1234
"""
import argparse

import h5py
import numpy as np

C = 299_792_458.0


def stations(rng, n=512):
    """ENU positions (m): half within 1 km, the rest on three spiral arms out to 20 km."""
    core = rng.normal(scale=350.0, size=(n // 2, 2))
    r = 1000.0 * (20.0) ** rng.random(n - n // 2)
    arm = rng.integers(0, 3, size=r.size)
    th = arm * 2 * np.pi / 3 + 0.6 * np.log(r / 1000.0) + rng.normal(scale=0.05, size=r.size)
    arms = np.stack([r * np.cos(th), r * np.sin(th)], axis=1)
    xy = np.concatenate([core, arms])
    return np.concatenate([xy, rng.normal(scale=2.0, size=(n, 1))], axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--nvis", type=int, default=2_000_000, help="rows × channels")
    ap.add_argument("--nchan", type=int, default=8)
    ap.add_argument("--npix", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    enu = stations(rng)
    p, q = np.triu_indices(len(enu), k=1)
    nrow = a.nvis // a.nchan
    lat, dec = np.radians(-26.7), np.radians(-30.0)
    # Random baselines at random hour angles within ±3 h: uvw by the textbook rotation.
    pick = rng.integers(0, p.size, size=nrow)
    b = enu[q[pick]] - enu[p[pick]]
    e, n, up = b[:, 0], b[:, 1], b[:, 2]
    x = -np.sin(lat) * n + np.cos(lat) * up
    y = e
    z = np.cos(lat) * n + np.sin(lat) * up
    h = rng.uniform(-np.pi / 4, np.pi / 4, size=nrow)
    u = np.sin(h) * x + np.cos(h) * y
    v = -np.sin(dec) * np.cos(h) * x + np.sin(dec) * np.sin(h) * y + np.cos(dec) * z
    w = np.cos(dec) * np.cos(h) * x - np.cos(dec) * np.sin(h) * y + np.sin(dec) * z
    uvw = np.stack([u, v, w], axis=1)
    freq = 150e6 + (np.arange(a.nchan) - (a.nchan - 1) / 2) * 781_250.0
    vis = (rng.standard_normal((nrow, a.nchan)) + 1j * rng.standard_normal((nrow, a.nchan))).astype(np.complex64)
    umax = np.abs(uvw[:, :2]).max() * freq.max() / C
    pixsize = 0.5 / (umax * 1.02)
    with h5py.File(a.out, "w") as f:
        f["uvw_m"] = uvw
        f["freq_hz"] = freq
        f["vis"] = vis
        f.attrs["npix"] = a.npix
        f.attrs["pixsize_rad"] = pixsize
    print(f"wrote {a.out}: {nrow} rows × {a.nchan} channels, {a.npix}² pixels of {np.degrees(pixsize) * 3600:.3f} arcsec")


if __name__ == "__main__":
    main()
