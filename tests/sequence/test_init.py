"""The sequence package: light to import; its public names resolve from the package."""

from __future__ import annotations

import subprocess
import sys

import mrfrecon.sequence as sequence_pkg

HEAVY = ("torch", "numba", "h5py", "pypulseq", "matplotlib", "scipy", "nibabel", "pydicom")


def test_import_pulls_in_nothing_heavy():
    code = ("import sys, mrfrecon.sequence; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_public_names_resolve_from_the_package():
    from mrfrecon.sequence import (  # noqa: F401
        KINDS,
        Inversion,
        Sequence,
        SliceProfile,
        load_sequence,
        parse_ranges,
        read_pulseq,
        resolve_sequence_path,
        sequence_from_dict,
    )

    assert set(sequence_pkg.__all__) <= set(dir(sequence_pkg))
    assert sequence_pkg.shipped_sequences_dir().joinpath("fisp_jiang2015.yaml").is_file()
