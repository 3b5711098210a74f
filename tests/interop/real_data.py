#!/usr/bin/env python3
"""Real data from three telescopes, written by pyuvdata as UVH5 and as a Measurement Set.

    real_data.py fetch DIR
        Extract the real test files pyuvdata 2.4 shipped in its wheel (PyPI; pyuvdata 3
        fetches them from elsewhere at test time) into DIR: VLA
        (day2_TDEM0003_10s_norx_1src_1spw.uvfits, and the same observation as the
        Measurement Set CASA wrote), MWA (1133866760.uvfits), HERA
        (zen.2458661.23480.HH.uvh5).

    real_data.py write DIR
        For each telescope, read the file with pyuvdata, phase drift-scan data to the
        zenith of the first time, clear the flags of a file flagged throughout (MWA's),
        and write NAME.uvh5 and NAME.ms (pyuvdata's write_ms).
        Prints "NAME UVH5 MS" per telescope.

    real_data.py compare-casa MS UVH5
        pyuvdata's reading of CASA's MS against fxgrid's conversion of it to UVH5: data,
        flags and nsamples equal, uvw to 1 mm. Prints one JSON line; exits 1 on a
        difference.
"""
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

WHEEL = "pyuvdata==2.4.5"
FILES = {
    "vla": "day2_TDEM0003_10s_norx_1src_1spw.uvfits",
    "mwa": "1133866760.uvfits",
    "hera": "zen.2458661.23480.HH.uvh5",
}
CASA_MS = "day2_TDEM0003_10s_norx_1src_1spw.ms"


def fetch(out):
    os.makedirs(out, exist_ok=True)
    if all(os.path.exists(os.path.join(out, f)) for f in FILES.values()) and os.path.isdir(
        os.path.join(out, CASA_MS)
    ):
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", WHEEL,
             "--no-deps", "--only-binary", ":all:", "--python-version", "3.11",
             "--platform", "manylinux2014_x86_64", "-d", tmp],
            check=True,
        )
        (whl,) = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        prefix = "pyuvdata/data/"
        with zipfile.ZipFile(os.path.join(tmp, whl)) as z:
            for name in z.namelist():
                rel = name[len(prefix):]
                if name.startswith(prefix) and (rel in FILES.values() or rel.startswith(CASA_MS + "/")):
                    target = os.path.join(out, rel)
                    if name.endswith("/"):
                        os.makedirs(target, exist_ok=True)
                        continue
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with z.open(name) as src, open(target, "wb") as dst:
                        dst.write(src.read())


def write(d):
    from pyuvdata import UVData

    for name, f in FILES.items():
        uv = UVData.from_file(os.path.join(d, f))
        if uv._check_for_cat_type("unprojected").any():
            uv.phase_to_time(uv.time_array[0])
        if uv.flag_array.all():
            # pyuvdata's MWA test file is flagged throughout; unflag it (in both outputs
            # alike) so that there is something to image.
            uv.flag_array[:] = False
        uvh5, ms = os.path.join(d, name + ".uvh5"), os.path.join(d, name + ".ms")
        uv.write_uvh5(uvh5, clobber=True)
        if os.path.exists(ms):
            subprocess.run(["rm", "-rf", ms], check=True)
        uv.write_ms(ms)
        print(name, uvh5, ms)


def compare_casa(ms, uvh5):
    # No internet here or in CI: astropy must use the tables and site list it ships.
    from astropy.utils import iers
    from astropy.utils.data import conf

    iers.conf.auto_download = False
    conf.allow_internet = False
    import shutil

    import casacore.tables as tables
    from pyuvdata import UVData

    # pyuvdata looks a known telescope's site up on the internet when the MS does not
    # store it; give a copy of the MS the array centre as pyuvdata itself writes it (the
    # mean of the antennas with positions, as fxgrid takes it).
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "casa.ms")
        shutil.copytree(ms, copy)
        with tables.table(copy + "/ANTENNA", ack=False) as t:
            pos = t.getcol("POSITION")
        centre = pos[np.linalg.norm(pos, axis=1) > 1e6].mean(axis=0)
        with tables.table(copy + "/OBSERVATION", ack=False, readonly=False) as t:
            t.addcols(tables.makearrcoldesc("TELESCOPE_LOCATION", 0.0, shape=[3], valuetype="double"))
            for r in range(t.nrows()):
                t.putcell("TELESCOPE_LOCATION", r, centre)
        a = UVData.from_file(copy)
    b = UVData.from_file(uvh5)
    for x in (a, b):
        x.reorder_blts(order="time", minor_order="baseline")
        x.reorder_pols(order="AIPS")
        x.reorder_freqs(channel_order="freq")
    out = dict(shape=[list(a.data_array.shape), list(b.data_array.shape)])
    ok = a.data_array.shape == b.data_array.shape
    if ok:
        out.update(
            max_abs_vis_diff=float(np.abs(a.data_array - b.data_array).max()),
            max_vis=float(np.abs(a.data_array).max()),
            flags_equal=bool(np.array_equal(a.flag_array, b.flag_array)),
            max_abs_nsamples_diff=float(np.abs(a.nsample_array - b.nsample_array).max()),
            max_uvw_diff_m=float(np.abs(a.uvw_array - b.uvw_array).max()),
        )
        # fxgrid stores complex64: equal to float32 rounding of pyuvdata's values.
        ok = (
            out["max_abs_vis_diff"] <= 1e-6 * max(out["max_vis"], 1.0)
            and out["flags_equal"]
            and out["max_abs_nsamples_diff"] == 0.0
            and out["max_uvw_diff_m"] <= 1e-3
        )
    out["ok"] = bool(ok)
    print(json.dumps(out))
    return ok


def main():
    what = sys.argv[1]
    if what == "fetch":
        fetch(sys.argv[2])
    elif what == "write":
        write(sys.argv[2])
    elif what == "compare-casa":
        sys.exit(0 if compare_casa(sys.argv[2], sys.argv[3]) else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
