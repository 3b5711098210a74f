#!/usr/bin/env python3
"""Write one simulated UVH5 file in every layout pyuvdata writes (and the legacy layouts
older pyuvdata versions wrote), for fxgrid's reader to be compared with pyuvdata's.

    uvh5_variants.py SOURCE.uvh5 OUTDIR

SOURCE is a small file from `fxgrid simulate vis` (phased, linear polarisations, 8 or
more channels). Prints one line per variant: "NAME PATH". Variants pyuvdata writes itself:
phased (the default layout, flags and nsamples LZF-compressed), drift (unprojected),
several spectral windows, complex128, int32 {r, i} pairs (HERA's correlator), LZF and gzip
visdata, circular polarisations, Stokes I, baseline-major blt order with missing
baseline-times, multiple phase centres. Legacy layouts (no `version`, rank-4 data, 2-D
freq_array, scalar channel_width, `phase_type` with `phase_center_ra/dec`), which
pyuvdata 3 reads but no longer writes, are made with h5py from pyuvdata-written files.
"""

import os
import sys

import h5py
import numpy as np
from pyuvdata import UVData


def load(src):
    uvd = UVData.from_file(src)
    return uvd


def write(uvd, path, **kw):
    uvd.write_uvh5(path, clobber=True, **kw)
    return path


def to_legacy(src, dst, drift):
    """Rewrite a pyuvdata 3 file in the pre-1.0 layout (pyuvdata 1.x / 2.0 era)."""
    with h5py.File(src, "r") as fi, h5py.File(dst, "w") as fo:
        hi, ho = fi["Header"], fo.create_group("Header")
        skip = {
            "version", "phase_center_catalog", "phase_center_id_array",
            "phase_center_app_ra", "phase_center_app_dec", "phase_center_frame_pa",
            "Nphase", "freq_array", "channel_width", "flex_spw_id_array", "Nfeeds",
            "feed_array", "feed_angle", "mount_type", "telescope_frame", "ellipsoid",
            "pol_convention", "blts_are_rectangular", "time_axis_faster_than_bls",
        }
        if drift:
            skip.add("lst_array")  # as in the oldest files: readers compute it
        for k in hi:
            if k not in skip and isinstance(hi[k], h5py.Dataset):
                ho.create_dataset(k, data=hi[k][()])
        ho["freq_array"] = hi["freq_array"][()][np.newaxis, :]
        ho["channel_width"] = float(hi["channel_width"][0])
        ho["x_orientation"] = np.bytes_("east")
        if drift:
            ho["phase_type"] = np.bytes_("drift")
        else:
            cat = hi["phase_center_catalog"]["0"]
            ho["phase_type"] = np.bytes_("phased")
            ho["phase_center_ra"] = cat["cat_lon"][()]
            ho["phase_center_dec"] = cat["cat_lat"][()]
            ho["phase_center_epoch"] = 2000.0
            ho["phase_center_frame"] = np.bytes_("icrs")
            ho["object_name"] = cat["cat_name"][()]
        di, do = fi["Data"], fo.create_group("Data")
        for k in ("visdata", "flags", "nsamples"):
            a = di[k][()]
            do.create_dataset(k, data=a[:, np.newaxis, :, :], chunks=True)
    return dst


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name + ".uvh5")  # noqa: E731
    made = []

    base = load(src)
    made.append(("phased", write(base, p("phased"))))

    uvd = base.copy()
    uvd.unproject_phase()
    made.append(("drift", write(uvd, p("drift"))))
    made.append(("legacy_drift", to_legacy(p("drift"), p("legacy_drift"), True)))
    made.append(("legacy_phased", to_legacy(p("phased"), p("legacy_phased"), False)))

    made.append(("complex128", write(base, p("complex128"), data_write_dtype="c16")))
    made.append(("lzf", write(base, p("lzf"), data_compression="lzf")))
    made.append(("gzip", write(base, p("gzip"), data_compression="gzip",
                               flags_compression="gzip", nsample_compression="gzip")))

    uvd = base.copy()
    uvd.data_array = np.round(uvd.data_array * 1000.0)
    i32 = np.dtype([("r", "<i4"), ("i", "<i4")])
    made.append(("int32", write(uvd, p("int32"), data_write_dtype=i32)))

    uvd = base.copy()
    nf = uvd.Nfreqs
    uvd.Nspws = 2
    uvd.spw_array = np.array([0, 1])
    uvd.flex_spw_id_array = np.where(np.arange(nf) < nf // 2, 0, 1)
    uvd.check()
    made.append(("spws", write(uvd, p("spws"))))

    uvd = base.copy()
    uvd.polarization_array = np.array([-1, -3, -4, -2])[: uvd.Npols]
    made.append(("circular", write(uvd, p("circular"))))

    uvd = base.copy()
    uvd.select(polarizations=[-5])
    uvd.polarization_array = np.array([1])
    made.append(("stokes_i", write(uvd, p("stokes_i"))))

    uvd = base.copy()
    rng = np.random.default_rng(7)
    keep = np.sort(rng.choice(uvd.Nblts, size=uvd.Nblts * 3 // 4, replace=False))
    uvd.select(blt_inds=keep)
    uvd.reorder_blts("baseline")
    made.append(("sparse_baseline_major", write(uvd, p("sparse_baseline_major"))))

    uvd = base.copy()
    uvd.flag_array[::3, ::2, :] = True
    uvd.nsample_array[::5] = 0.5
    ra0 = uvd.phase_center_catalog[0]["cat_lon"]
    dec0 = uvd.phase_center_catalog[0]["cat_lat"]
    half = uvd.time_array > np.median(uvd.time_array)
    uvd.phase(ra=ra0 + 0.01, dec=dec0 + 0.005, cat_name="second", select_mask=half)
    made.append(("two_centres_flagged", write(uvd, p("two_centres_flagged"))))

    for name, path in made:
        print(name, path)


if __name__ == "__main__":
    main()
