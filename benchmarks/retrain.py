"""Time to a validated model, where the time goes, and the model's accuracy.

On the shipped 1000-TR FISP schedule with the default (reproducible, epoch-bound) training:
(1) wall and CPU time from the sequence file to a written and re-loaded model, split into
simulation, each training stage (float, float of the FPGA size, QAT) and validation; the load
average is printed beside it because a shared machine stretches the wall time (the CPU time
and the model do not change); (2) on one fresh test set (T1 100-3000 ms, T2 10-300 ms) at
noise 0.01 and 0.03 the MAPE/RMSE/RMSE-over-CRB of the float network, the quantised network
and dictionary matching; (3) training throughput beside the reference FPGA estimate.
Run: ``.venv/bin/python benchmarks/retrain.py [--seconds CAP] [--n 20000]
[--device auto|cpu|cuda] [--json]`` (``device`` in the output says which one trained).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_FPGA_SAMPLES_PER_S = 200e6 / 160  # 160 cycles per sample at 200 MHz
GOALS = {"time_to_model_s": 30.0, "quantized_t1_mape": 1.6, "quantized_t2_mape": 3.0,
         "float_rmse_over_crb": 1.15}  # fmt: skip


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its ended children (retrain's magnitude process)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequence", default=str(ROOT / "sequences" / "fisp_jiang2015.yaml"))
    parser.add_argument("--seconds", type=float, default=None, help="optional wall-clock cap")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="training device (auto: cuda when torch sees one); run cpu and cuda "
                             "on the same machine to compare them")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from mrfrecon.evaluate import evaluate
    from mrfrecon.model import load_model, save_model
    from mrfrecon.sequence import load_sequence
    from mrfrecon.training import RetrainConfig, retrain

    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), _cpu_with_children()
    sequence = load_sequence(args.sequence)
    result = retrain(sequence, RetrainConfig(seconds=args.seconds, device=args.device))
    with tempfile.TemporaryDirectory() as tmp:
        path = save_model(result.model, Path(tmp) / "model.h5")
        model = load_model(path)
    time_to_model = time.perf_counter() - start
    cpu_to_model = _cpu_with_children() - cpu_start
    load_after = os.getloadavg()[0]

    accuracy = {}
    for noise in (0.01, 0.03):
        accuracy[str(noise)] = evaluate(model, noise=noise, n=args.n).to_dict()
    stages = result.summary["stages"]
    out = {
        "sequence": sequence.name,
        "time_to_model_s": time_to_model,
        "cpu_to_model_s": cpu_to_model,
        "load_average_1min": [load_before, load_after],
        "cpu_cores": os.cpu_count(),
        "device": result.summary["device"],
        "timing": result.summary["timing"],
        "parallel_paths": result.summary["parallel_paths"],
        "rank": result.summary["rank"],
        "epochs": {name: stage["epochs"] for name, stage in stages.items()},
        "capped_by_seconds": result.summary["capped_by_seconds"],
        "throughput_samples_per_s": {
            **{name: stage["samples_per_s"] for name, stage in stages.items()},
            "reference_fpga": REFERENCE_FPGA_SAMPLES_PER_S,
        },
        "validation_internal": result.summary["validation"],
        "accuracy": accuracy,
        "goals": GOALS,
    }
    m = accuracy["0.01"]["methods"]
    out["checks"] = {
        "time_to_model": time_to_model <= GOALS["time_to_model_s"],
        "float_t1_rmse_over_crb": m["float"]["t1"]["rmse_over_crb"] <= GOALS["float_rmse_over_crb"],
        "float_t2_rmse_over_crb": m["float"]["t2"]["rmse_over_crb"] <= GOALS["float_rmse_over_crb"],
        "quantized_t1_mape": m["quantized"]["t1"]["mape"] <= GOALS["quantized_t1_mape"],
        "quantized_t2_mape": m["quantized"]["t2"]["mape"] <= GOALS["quantized_t2_mape"],
        "float_t1_not_worse_than_matching": m["float"]["t1"]["mape"] <= m["matching"]["t1"]["mape"],
        "float_t2_not_worse_than_matching": m["float"]["t2"]["mape"] <= m["matching"]["t2"]["mape"],
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"{sequence.name}: time to model {time_to_model:.1f} s wall, {cpu_to_model:.1f} s CPU "
        f"(goal <= {GOALS['time_to_model_s']:.0f} s on a quiet 2-core machine; load average "
        f"{load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} cores), SVD rank "
        f"{out['rank']}, epochs {out['epochs']}, device {out['device']}"
        + (f", cut short by --seconds: {out['capped_by_seconds']}" if out["capped_by_seconds"]
           else "")
    )
    print("  " + ", ".join(f"{name} {t['wall_s']:.1f} s ({t['cpu_s']:.1f} s CPU)"
                           for name, t in out["timing"].items()))  # fmt: skip
    for noise, acc in accuracy.items():
        print(
            f"noise {noise}, n = {args.n}; mean relative sqrt(CRB) T1 "
            f"{acc['crb']['t1_rel_sd_mean_pct']:.2f} %, T2 {acc['crb']['t2_rel_sd_mean_pct']:.2f} %"
        )
        print(f"  {'method':<10} {'T1 MAPE %':>9} {'RMSE ms':>8} {'/CRB':>5}  "
              f"{'T2 MAPE %':>9} {'RMSE ms':>8} {'/CRB':>5}")  # fmt: skip
        for name, r in acc["methods"].items():
            print(
                f"  {name:<10} {r['t1']['mape']:9.2f} {r['t1']['rmse_ms']:8.1f} {r['t1']['rmse_over_crb']:5.2f}"
                f"  {r['t2']['mape']:9.2f} {r['t2']['rmse_ms']:8.1f} {r['t2']['rmse_over_crb']:5.2f}"
            )
    print("training throughput (samples/s): " + ", ".join(
        f"{name} {value:.3g}" for name, value in out["throughput_samples_per_s"].items()))
    for name, ok in out["checks"].items():
        print(f"  [{'x' if ok else ' '}] {name}")


if __name__ == "__main__":
    main()
