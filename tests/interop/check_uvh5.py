#!/usr/bin/env python3
"""Read a UVH5 file with pyuvdata, strictly, and print what it found as JSON (last line).

Exit status 0 when pyuvdata read the file with every check on (run_check, check_extra,
strict uvw/antenna-position check) and without fixing anything; the JSON lists the
warnings pyuvdata raised, which the caller may also require to be empty.

    python tests/interop/check_uvh5.py FILE.uvh5
"""
import json
import sys
import warnings


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    from pyuvdata import UVData

    uv = UVData()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            uv.read(
                path,
                file_type="uvh5",
                run_check=True,
                check_extra=True,
                run_check_acceptability=True,
                strict_uvw_antpos_check=True,
            )
        except Exception as e:  # pyuvdata raises ValueError and others on a failed check
            print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
            return 1
    found = {
        "ok": True,
        "Nants_data": int(uv.Nants_data),
        "Nbls": int(uv.Nbls),
        "Nblts": int(uv.Nblts),
        "Ntimes": int(uv.Ntimes),
        "Nfreqs": int(uv.Nfreqs),
        "Npols": int(uv.Npols),
        "polarizations": [int(p) for p in uv.polarization_array],
        "vis_units": str(uv.vis_units),
        "telescope": str(uv.telescope.name),
        "warnings": [str(w.message) for w in caught],
    }
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
