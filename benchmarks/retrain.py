"""Time to model, accuracy against matching and the CRB, and training throughput.

On the shipped 1000-TR FISP schedule: (1) wall time from the sequence file to a written and
re-loaded model (simulation + float training + QAT + validation); (2) on one fresh test set
(T1 100-3000 ms, T2 10-300 ms) at noise 0.01 and 0.03 the MAPE/RMSE/RMSE-over-CRB of the float
network, the quantised network and dictionary matching; (3) training throughput of the
FPGA-sized network, float and QAT, beside the reference FPGA estimate (1.25 M samples/s).
Run: ``.venv/bin/python benchmarks/retrain.py [--seconds 40] [--n 20000] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_FPGA_SAMPLES_PER_S = 200e6 / 160  # 160 cycles per sample at 200 MHz
GOALS = {"time_to_model_s": 60.0, "quantized_t1_mape": 2.15, "quantized_t2_mape": 8.89}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequence", default=str(ROOT / "sequences" / "fisp_jiang2015.yaml"))
    parser.add_argument("--seconds", type=float, default=50.0)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from mrfrecon.evaluate import evaluate
    from mrfrecon.model import load_model, save_model
    from mrfrecon.sequence import load_sequence
    from mrfrecon.training import RetrainConfig, retrain

    start = time.perf_counter()
    sequence = load_sequence(args.sequence)
    result = retrain(sequence, RetrainConfig(seconds=args.seconds))
    with tempfile.TemporaryDirectory() as tmp:
        path = save_model(result.model, Path(tmp) / "model.h5")
        model = load_model(path)
    time_to_model = time.perf_counter() - start

    accuracy = {}
    for noise in (0.01, 0.03):
        accuracy[str(noise)] = evaluate(model, noise=noise, n=args.n).to_dict()
    stages = result.summary["stages"]
    out = {
        "sequence": sequence.name,
        "time_to_model_s": time_to_model,
        "simulation_s": result.summary["seconds_simulation"],
        "training_budget_s": args.seconds,
        "throughput_samples_per_s": {
            "float_big": stages["float"]["samples_per_s"],
            "float_fpga_size": stages["float_small"]["samples_per_s"],
            "qat_fpga_size": stages["qat"]["samples_per_s"],
            "reference_fpga": REFERENCE_FPGA_SAMPLES_PER_S,
        },
        "validation_internal": result.summary["validation"],
        "accuracy": accuracy,
        "goals": GOALS,
    }
    m = accuracy["0.01"]["methods"]
    out["checks"] = {
        "time_to_model": time_to_model <= GOALS["time_to_model_s"],
        "float_t1_not_worse_than_matching": m["float"]["t1"]["mape"] <= m["matching"]["t1"]["mape"],
        "float_t2_not_worse_than_matching": m["float"]["t2"]["mape"] <= m["matching"]["t2"]["mape"],
        "quantized_t1_mape": m["quantized"]["t1"]["mape"] <= GOALS["quantized_t1_mape"],
        "quantized_t2_mape": m["quantized"]["t2"]["mape"] <= GOALS["quantized_t2_mape"],
        "quantized_within_1_5x_float_t1": m["quantized"]["t1"]["mape"]
        <= 1.5 * m["float"]["t1"]["mape"],
        "quantized_within_1_5x_float_t2": m["quantized"]["t2"]["mape"]
        <= 1.5 * m["float"]["t2"]["mape"],
        "stretch_float_rmse_over_crb_le_1_25": max(
            m["float"]["t1"]["rmse_over_crb"], m["float"]["t2"]["rmse_over_crb"]
        )
        <= 1.25,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"{sequence.name}: time to model {time_to_model:.1f} s (goal <= 60 s; simulation "
        f"{out['simulation_s']:.1f} s, training budget {args.seconds:.0f} s)"
    )
    for noise, acc in accuracy.items():
        print(
            f"noise {noise}, n = {args.n}; mean relative sqrt(CRB) T1 "
            f"{acc['crb']['t1_rel_sd_mean_pct']:.2f} %, T2 {acc['crb']['t2_rel_sd_mean_pct']:.2f} %"
        )
        print(
            f"  {'method':<10} {'T1 MAPE %':>9} {'RMSE ms':>8} {'/CRB':>5}  {'T2 MAPE %':>9} {'RMSE ms':>8} {'/CRB':>5}"
        )
        for name, r in acc["methods"].items():
            print(
                f"  {name:<10} {r['t1']['mape']:9.2f} {r['t1']['rmse_ms']:8.1f} {r['t1']['rmse_over_crb']:5.2f}"
                f"  {r['t2']['mape']:9.2f} {r['t2']['rmse_ms']:8.1f} {r['t2']['rmse_over_crb']:5.2f}"
            )
    tp = out["throughput_samples_per_s"]
    print(
        f"training throughput (samples/s): float 64x64 {tp['float_big']:.3g}, float FPGA-size "
        f"{tp['float_fpga_size']:.3g}, QAT FPGA-size {tp['qat_fpga_size']:.3g}; reference FPGA "
        f"{tp['reference_fpga']:.3g} (ratios {tp['float_fpga_size'] / tp['reference_fpga']:.2f}, "
        f"{tp['qat_fpga_size'] / tp['reference_fpga']:.2f})"
    )
    for name, ok in out["checks"].items():
        print(f"  [{'x' if ok else ' '}] {name}")


if __name__ == "__main__":
    main()
