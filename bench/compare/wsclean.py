#!/usr/bin/env python3
"""WSClean on the same data as `fxgrid image`: converts a UVH5 file to a Measurement Set
with pyuvdata (needs python-casacore), runs WSClean (`apt-get install wsclean`) with the
same image size, cell, weighting and gridding accuracy, and reports the wall time and peak
memory of the WSClean run; with `--fxgrid IMAGE.fits` it also compares the two dirty
images (peak and relative RMS difference).

    python bench/compare/wsclean.py VIS.uvh5 --npix 4096 --cell-arcsec 3 --threads 2 [--fxgrid img.fits]
        [--niter 100000 --auto-threshold 3 --mgain 0.8 [--multiscale]] [--workdir D --keep-ms]
"""
import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time

from common import summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("uvh5")
    ap.add_argument("--npix", type=int, required=True)
    ap.add_argument("--cell-arcsec", type=float, required=True)
    ap.add_argument("--weight", default="natural", help="natural, uniform or briggs:R")
    ap.add_argument("--epsilon", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fxgrid", help="fxgrid's FITS image of the same data, to compare")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep-ms", action="store_true", help="reuse WORKDIR/vis.ms if it is there (not timed)")
    ap.add_argument("--niter", type=int, default=0, help="CLEAN iterations (0: dirty image only)")
    ap.add_argument("--gain", type=float, default=0.1)
    ap.add_argument("--mgain", type=float, default=0.8)
    ap.add_argument("--auto-threshold", type=float, default=None)
    ap.add_argument("--multiscale", action="store_true")
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix="fxgrid-wsclean-")
    os.makedirs(work, exist_ok=True)
    ms = os.path.join(work, "vis.ms")
    if not (a.keep_ms and os.path.isdir(ms)):
        from pyuvdata import UVData

        uv = UVData.from_file(a.uvh5)
        if os.path.exists(ms):
            shutil.rmtree(ms)
        uv.write_ms(ms)
    weight = ["natural"] if a.weight == "natural" else ["uniform"] if a.weight == "uniform" else ["briggs", a.weight.split(":")[1]]
    clean = []
    if a.niter > 0:
        clean = ["-niter", str(a.niter), "-gain", str(a.gain), "-mgain", str(a.mgain)]
        if a.auto_threshold is not None:
            clean += ["-auto-threshold", str(a.auto_threshold)]
        if a.multiscale:
            clean.append("-multiscale")
    cmd = ["wsclean", "-quiet", "-size", str(a.npix), str(a.npix), "-scale", f"{a.cell_arcsec}asec",
           "-weight", *weight, "-use-wgridder", "-wgridder-accuracy", str(a.epsilon),
           "-j", str(a.threads), "-make-psf", *clean, "-name", os.path.join(work, "ws"), ms]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
    out = dict(tool="wsclean", command=" ".join(cmd), wall_s=wall, peak_rss_gb=rss_gb, threads=a.threads)
    if a.fxgrid:
        import numpy as np
        from astropy.io import fits

        ws = np.squeeze(fits.getdata(os.path.join(work, "ws-image.fits"))).astype(np.float64)
        fx = np.squeeze(fits.getdata(a.fxgrid)).astype(np.float64)
        out["peak_wsclean"] = float(ws.max())
        out["peak_fxgrid"] = float(fx.max())
        out["rel_rms_difference"] = float(np.sqrt(np.mean((fx - ws) ** 2) / np.mean(ws**2)))
    summary(**out)


if __name__ == "__main__":
    main()
