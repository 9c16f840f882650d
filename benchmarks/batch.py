"""Batch throughput vs Dask workers on this machine: studies/min, as ratios in one run.

The same ``--n`` phantom studies (``--size`` x ``--size``, one slice, fisp_short400) are
reconstructed by ``mrfrecon.batch.run_batch`` three ways, each into a fresh output folder:

- baseline: the plain local run (one study at a time in this process, all cores per study);
- ``--scheduler local:1`` and ``local:2``: a Dask ``LocalCluster`` with 1 and 2 worker processes
  (cluster start-up included: it is part of what a user waits for).

A warm-up study first compiles the kernels and fills the table cache, so every configuration
starts warm. Results are checked identical to the baseline's.

    .venv/bin/python benchmarks/batch.py [--model MODEL.h5] [--n 8] [--size 64] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _models import small_model  # noqa: E402


def make_studies(folder: Path, n: int, size: int) -> Path:
    import nibabel as nib
    import numpy as np

    from mrfrecon.phantom import brain_phantom, simulate_series
    from mrfrecon.sequence import load_sequence, resolve_sequence_path

    sequence = load_sequence(resolve_sequence_path("fisp_short400"))
    phantom = brain_phantom(size)
    for i in range(n):
        series = simulate_series(sequence, phantom, 0.002 + 0.001 * i)
        sub = folder / f"sub-{i:02d}"
        sub.mkdir(parents=True)
        nib.save(nib.Nifti1Image(np.asarray(series, np.complex64), np.diag([1.0, 1.0, 5.0, 1.0])),
                 sub / f"sub-{i:02d}_MRF.nii.gz")
    return folder


def timed_batch(inputs: Path, model: Path, out: Path, scheduler: str | None
                ) -> tuple[float, float]:
    """(seconds end to end, studies/min between the first and the last study finished)."""
    from mrfrecon.batch import run_batch

    finished: list[float] = []
    t0 = time.perf_counter()
    result = run_batch(inputs, model, out, scheduler=scheduler,
                       on_study=lambda _: finished.append(time.perf_counter()))
    seconds = time.perf_counter() - t0
    if result.counts()["done"] != len(result.studies):
        raise SystemExit(f"batch {scheduler or 'local'} failed: {result.to_dict()}")
    steady = 60 * (len(finished) - 1) / max(finished[-1] - finished[0], 1e-9)
    return seconds, steady


def same_maps(a: Path, b: Path) -> bool:
    import nibabel as nib
    import numpy as np

    files = sorted(p.relative_to(a) for p in a.rglob("*.nii.gz"))
    return bool(files) and all(
        np.array_equal(np.asarray(nib.load(a / f).dataobj), np.asarray(nib.load(b / f).dataobj))
        for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = args.model or small_model(work)
        warm = make_studies(work / "warm", 1, args.size)
        timed_batch(warm, model, work / "warm-out", None)
        inputs = make_studies(work / "in", args.n, args.size)
        runs = {name: timed_batch(inputs, model, work / name, sched)
                for name, sched in [("local", None), ("dask-1", "local:1"),
                                    ("dask-2", "local:2")]}
        identical = all(same_maps(work / "local", work / k) for k in ("dask-1", "dask-2"))
    seconds = {k: r[0] for k, r in runs.items()}
    steady = {k: r[1] for k, r in runs.items()}
    report = {"studies": args.n, "size": args.size, "seconds": seconds,
              "studies_per_min": {k: 60 * args.n / s for k, s in seconds.items()},
              "steady_studies_per_min": steady, "identical_to_local": identical,
              "ratio_dask2_over_dask1": steady["dask-2"] / steady["dask-1"],
              "ratio_dask2_over_local": steady["dask-2"] / steady["local"]}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.n} studies of {args.size}x{args.size}x1, fisp_short400")
    print(f"  {'run':8s} {'total s':>8s} {'studies/min':>12s} {'steady /min':>12s}")
    for k in seconds:
        print(f"  {k:8s} {seconds[k]:8.1f} {report['studies_per_min'][k]:12.1f} "
              f"{steady[k]:12.1f}")
    print(f"  steady state, 2 vs 1 Dask workers: x{report['ratio_dask2_over_dask1']:.2f}; "
          f"2 workers vs plain local run: x{report['ratio_dask2_over_local']:.2f}; "
          f"maps identical: {identical}")
    print("  (total includes starting the cluster: worker processes import torch and load "
          "the model)")


if __name__ == "__main__":
    main()
