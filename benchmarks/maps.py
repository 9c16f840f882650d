"""Map reconstruction speed: network vs SVD-compressed vs full-length dictionary matching.

One run, same machine, same input: a 256 x 256 x 1 x 1000 complex64 NIfTI (the brain phantom of
``mrfrecon phantom`` through fisp_jiang2015, noise sigma 0.005; 500 MiB uncompressed) is
written to a temporary folder, then each method is timed end to end *including reading* the file
(``read_acquisition``; NIfTI is memory-mapped, so the read happens while pass 1 streams it; the
file was just written, so it comes from the page cache):

- ``quantized``: ``mrfrecon.recon.reconstruct(method="quantized")`` (integer network, M0, quality, noise,
  sqrt(CRB) maps; the per-model tables are cached on disk, their one-off cost is printed apart);
- ``compressed``: ``mrfrecon.dictionary.match(compressed=True)`` on the default grid;
- ``full``: ``mrfrecon.dictionary.match(compressed=False)`` on the default grid.

Matching runs on every voxel; ``quantized`` is timed on every voxel (given full mask) and with the
automatic mask. Memory: peak traced allocations (tracemalloc; numpy reports its buffers) of
``quantized`` at two chunk sizes, and the input's size.

    .venv/bin/python benchmarks/maps.py [--model MODEL.h5] [--size 256] [--skip-full]

Without ``--model`` a model with the real feature map (rank 8) and untrained integer/float
networks of the retrain defaults' widths is used: the timing does not depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mrfrecon.dictionary import build_dictionary, match  # noqa: E402
from mrfrecon.io import read_acquisition  # noqa: E402
from mrfrecon.model import FloatMLPWeights, MrfModel, OutputScaling, load_model  # noqa: E402
from mrfrecon.phantom import brain_phantom, simulate_series  # noqa: E402
from mrfrecon.recon import ReconOptions, reconstruct  # noqa: E402
from mrfrecon.sequence import load_sequence, resolve_sequence_path  # noqa: E402


def untrained_model(sequence, dictionary, rank: int = 8, widths=(16, 16)) -> MrfModel:
    from mrfrecon.dictionary import svd_basis
    from mrfrecon.features import FeatureMap, fit_standardisation, unit_realimag
    from mrfrecon.quantized import IntegerLayer, IntegerMLP

    rng = np.random.default_rng(0)
    basis, _ = svd_basis(dictionary.atoms, rank=rank)
    mean, std = fit_standardisation(unit_realimag(dictionary.atoms @ basis))
    sizes = (2 * rank, *widths, 2)
    layers, weights, biases = [], [], []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layers.append(IntegerLayer(rng.integers(-64, 64, (n_out, n_in)),
                                   rng.integers(-300, 300, n_out), 6, None if last else 4))
        weights.append(rng.normal(0, 0.3, (n_out, n_in)).astype(np.float32))
        biases.append(np.zeros(n_out, np.float32))
    return MrfModel(sequence, FeatureMap(basis, mean, std),
                    OutputScaling((100.0, 5000.0), (10.0, 1900.0)),
                    FloatMLPWeights(tuple(weights), tuple(biases)), IntegerMLP(5, tuple(layers)))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sequence = load_sequence(resolve_sequence_path("fisp_jiang2015"))
    t_dict, dictionary = timed(lambda: build_dictionary(sequence))  # default grid, SVD energy
    model = load_model(args.model) if args.model else untrained_model(sequence, dictionary)
    results: dict = {"cpu_count": os.cpu_count(), "size": args.size,
                     "n_timepoints": sequence.n_timepoints, "n_atoms": dictionary.n_atoms,
                     "dictionary_rank": dictionary.rank, "model_rank": model.features.rank,
                     "dictionary_simulation_s": t_dict,
                     "model": str(args.model) if args.model else "untrained (timing only)"}
    with tempfile.TemporaryDirectory(prefix="mrfrecon-bench-") as tmp:
        import nibabel as nib

        series = simulate_series(sequence, brain_phantom(args.size), 0.005)
        path = Path(tmp) / "bench_MRF.nii"
        nib.save(nib.Nifti1Image(series, np.diag([1.0, 1.0, 5.0, 1.0])), path)
        del series
        results["input_mib"] = path.stat().st_size / 2**20
        full_mask = np.ones((args.size, args.size, 1), bool)

        # one-off: the model's fingerprint/CRB tables (cached afterwards)
        with tempfile.TemporaryDirectory() as cache:
            os.environ["MRFRECON_CACHE_DIR"] = cache
            acq = read_acquisition(path)
            base = acq.data
            while base is not None and not isinstance(base, np.memmap):
                base = base.base
            results["input_memory_mapped"] = base is not None
            results["quantized_cold_first_run_s"], _ = timed(lambda: reconstruct(acq.data, model))

            def quantized(mask=None, chunk=4096):
                a = read_acquisition(path)
                return reconstruct(a.data, model, mask=mask,
                                   options=ReconOptions(method="quantized", chunk_size=chunk))

            runs = [timed(quantized)[0] for _ in range(3)]
            results["quantized_auto_mask_s"] = min(runs)
            res = quantized()
            results["quantized_fitted_voxels"] = res.n_fitted
            results["quantized_all_voxels_s"] = min(timed(lambda: quantized(full_mask))[0] for _ in range(3))
            results["quantized_stage_s"] = {k: round(v, 4) for k, v in res.seconds.items()}
            for chunk in (1024, 8192):
                tracemalloc.start()
                quantized(chunk=chunk)
                peak = tracemalloc.get_traced_memory()[1]
                results[f"quantized_peak_traced_mib_chunk{chunk}"] = peak / 2**20
                tracemalloc.stop()

        def matching(compressed):
            a = read_acquisition(path)
            signals = a.data.reshape(-1, a.n_timepoints, order="F")
            return match(dictionary, signals, compressed=compressed)

        results["compressed_match_s"] = min(timed(lambda: matching(True))[0] for _ in range(2))
        if not args.skip_full:
            results["full_match_s"], _ = timed(lambda: matching(False))
    r = results
    r["ratio_full_over_quantized"] = r.get("full_match_s", float("nan")) / r["quantized_all_voxels_s"]
    r["ratio_compressed_over_quantized"] = r["compressed_match_s"] / r["quantized_all_voxels_s"]
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"{r['size']}x{r['size']}x1 x {r['n_timepoints']} time points "
          f"({r['input_mib']:.0f} MiB,"
          f" memory-mapped: {r['input_memory_mapped']}), {r['cpu_count']} cores, "
          f"{r['n_atoms']} atoms (rank {r['dictionary_rank']}), model rank {r['model_rank']}")
    print(f"  quantized, all voxels          {r['quantized_all_voxels_s']:8.3f} s  (read + project + network + "
          "M0/quality + noise + sqrt(CRB))")
    print(f"  quantized, automatic mask      {r['quantized_auto_mask_s']:8.3f} s  "
          f"({r['quantized_fitted_voxels']} voxels)  stages {r['quantized_stage_s']}")
    print(f"  quantized, first run of a model {r['quantized_cold_first_run_s']:7.3f} s  (tables simulated, then "
          "cached)")
    print(f"  compressed matching     {r['compressed_match_s']:8.3f} s  "
          f"({r['ratio_compressed_over_quantized']:.1f}x the quantized time)")
    if "full_match_s" in r:
        print(f"  full-length matching    {r['full_match_s']:8.3f} s  "
              f"({r['ratio_full_over_quantized']:.0f}x the quantized time)")
    print(f"  quantized peak traced memory: {r['quantized_peak_traced_mib_chunk1024']:.0f} MiB "
          "(chunk 1024), "
          f"{r['quantized_peak_traced_mib_chunk8192']:.0f} MiB (chunk 8192); "
          f"input {r['input_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
