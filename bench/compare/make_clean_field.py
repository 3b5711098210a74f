#!/usr/bin/env python3
"""Writes the sky model of the deconvolution comparison: an SKA-Low-like field of point
sources (log-uniform fluxes between --min-jy and --max-jy, uniform over a disc of
--radius-deg around the phase centre) and two elliptical Gaussians, in fxgrid's sky text
format. Simulate it with `fxgrid simulate vis --sky FIELD.sky ...` (bench/compare/README.md).

    python bench/compare/make_clean_field.py --out /tmp/field.sky [--ra-deg 60 --dec-deg -30]
"""
import argparse
import math
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ra-deg", type=float, default=60.0)
    ap.add_argument("--dec-deg", type=float, default=-30.0)
    ap.add_argument("--points", type=int, default=24)
    ap.add_argument("--min-jy", type=float, default=0.03)
    ap.add_argument("--max-jy", type=float, default=3.0)
    ap.add_argument("--radius-deg", type=float, default=1.4)
    ap.add_argument("--ref-freq-hz", type=float, default=150e6)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    dec0 = math.radians(a.dec_deg)
    lines = ["# kind ra_deg dec_deg flux_jy ref_freq_hz spectral_index [major_arcsec minor_arcsec pa_deg]"]

    def place(r_deg):
        # Uniform over the disc, as offsets in (l, m) turned into RA/Dec (SIN projection).
        r = math.radians(r_deg) * math.sqrt(rng.random())
        t = rng.uniform(0, 2 * math.pi)
        l, m = r * math.sin(t), r * math.cos(t)
        n = math.sqrt(1 - l * l - m * m)
        dec = math.asin(m * math.cos(dec0) + n * math.sin(dec0))
        ra = math.radians(a.ra_deg) + math.atan2(l, n * math.cos(dec0) - m * math.sin(dec0))
        return math.degrees(ra) % 360, math.degrees(dec)

    lo, hi = math.log(a.min_jy), math.log(a.max_jy)
    fluxes = [math.exp(lo + (hi - lo) * i / (a.points - 1)) for i in range(a.points)]
    for s in fluxes:
        ra, dec = place(a.radius_deg)
        lines.append(f"point {ra:.6f} {dec:.6f} {s:.5f} {a.ref_freq_hz:.6e} 0.0")
    for s, maj, mnr, pa in ((1.0, 90.0, 50.0, 30.0), (0.6, 150.0, 100.0, -60.0)):
        ra, dec = place(0.8 * a.radius_deg)
        lines.append(f"gaussian {ra:.6f} {dec:.6f} {s:.4f} {a.ref_freq_hz:.6e} 0.0 {maj} {mnr} {pa}")
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
