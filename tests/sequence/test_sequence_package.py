"""The sequence package: light to import, no import cycles, old names still importable."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mrfrecon.sequence as sequence_pkg

HEAVY = ("torch", "numba", "h5py", "pypulseq", "matplotlib", "scipy", "nibabel", "pydicom")


def test_import_pulls_in_nothing_heavy():
    code = ("import sys, mrfrecon.sequence; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def _local_imports(path: Path) -> set[str]:
    """Sibling modules imported at module level (``from .x import``)."""
    tree = ast.parse(path.read_text())
    return {node.module for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}


def test_modules_import_one_way():
    folder = Path(sequence_pkg.__file__).parent
    graph = {p.stem: _local_imports(p) for p in folder.glob("*.py") if p.stem != "__init__"}
    assert set().union(*graph.values()) <= set(graph)
    done: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        assert name not in stack, f"import cycle: {' -> '.join((*stack, name))}"
        if name not in done:
            for dep in graph[name]:
                visit(dep, (*stack, name))
            done.add(name)

    for name in graph:
        visit(name, ())


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
