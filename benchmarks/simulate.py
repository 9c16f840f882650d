"""Simulation speed: mrfrecon's EPG against blochsim.mrf_sim, same schedule, same states.

Prints entries x time points per second for both, the speed ratio, and the accuracy: the max
relative deviation (per fingerprint, max |a - b| / max |b|) between the two simulators and of
mrfrecon against a 200-state float64 reference. Run: ``.venv/bin/python benchmarks/simulate.py``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from mrfrecon.physics import Tissue, epg_fisp
from mrfrecon.sequence import load_sequence

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def rel_dev(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b).max(axis=1) / np.abs(b).max(axis=1)).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--states", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    seq = load_sequence(ROOT / "sequences" / "fisp_jiang2015.yaml")
    rng = np.random.default_rng(0)
    t1 = np.exp(rng.uniform(np.log(100), np.log(3000), args.entries))
    t2 = np.minimum(np.exp(rng.uniform(np.log(10), np.log(300), args.entries)), t1)
    tissue = Tissue.make(t1, t2)
    te0 = np.zeros(seq.n_timepoints)  # blochsim samples at TE = 0

    def ours():
        return epg_fisp(
            seq.fa_deg, seq.tr_ms, te0, tissue, inversion=seq.inversion, n_states=args.states
        )

    import blochsim

    fa_t, tr_t = (
        torch.tensor(seq.fa_deg, dtype=torch.float32),
        torch.tensor(seq.tr_ms, dtype=torch.float32),
    )
    t1_t, t2_t = torch.tensor(t1, dtype=torch.float32), torch.tensor(t2, dtype=torch.float32)

    def theirs():
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            return blochsim.mrf_sim(
                fa_t, tr_t, t1_t, t2_t, TI=seq.inversion.ti_ms, states=args.states
            ).numpy()

    ours()  # compile / warm up both
    theirs()
    t_ours, sig_ours = best_of(ours, args.repeats)
    t_theirs, sig_theirs = best_of(theirs, args.repeats)
    ref = epg_fisp(
        seq.fa_deg, seq.tr_ms, te0, tissue, inversion=seq.inversion, n_states=200, dtype=np.float64
    )
    work = args.entries * seq.n_timepoints
    result = {
        "schedule": seq.name,
        "entries": args.entries,
        "timepoints": seq.n_timepoints,
        "states": args.states,
        "threads": args.threads,
        "mrfrecon_s": t_ours,
        "blochsim_s": t_theirs,
        "mrfrecon_entries_x_tp_per_s": work / t_ours,
        "blochsim_entries_x_tp_per_s": work / t_theirs,
        "speed_ratio": t_theirs / t_ours,
        "max_rel_dev_vs_blochsim": rel_dev(1j * sig_ours, sig_theirs),
        "max_rel_dev_vs_200_states": rel_dev(sig_ours, ref),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{seq.name}: {args.entries} entries x {seq.n_timepoints} time points, "
        f"{args.states} EPG states, {args.threads} threads"
    )
    print(f"  mrfrecon : {t_ours:7.3f} s  {work / t_ours:12.4g} entries*tp/s")
    print(f"  blochsim : {t_theirs:7.3f} s  {work / t_theirs:12.4g} entries*tp/s")
    print(f"  ratio    : {result['speed_ratio']:.2f}x (target >= 5x)")
    print(
        f"  max rel. deviation mrfrecon vs blochsim      : {result['max_rel_dev_vs_blochsim']:.2e}"
    )
    print(
        f"  max rel. deviation mrfrecon vs 200-state ref : {result['max_rel_dev_vs_200_states']:.2e}"
        " (target <= 1e-4)"
    )


if __name__ == "__main__":
    main()
