"""``mrfrecon evaluate``: accuracy of a model against dictionary matching and the CRB."""

from __future__ import annotations

from pathlib import Path

import typer

from ..atomic import atomic_write
from ..limits import check_memory
from ..method import Method
from ._common import SEED_MAX, JsonOption, OverwriteOption, check_int_option, check_output
from ._errors import handle_errors
from ._output import info, print_json, progress_bar


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)


@handle_errors
def evaluate_command(
    model: Path = typer.Option(..., "--model", "-m", help="Model file."),
    noise: float = typer.Option(
        0.01, "--noise", min=0.0, help="Noise SD per channel, in units of M0 = 1."
    ),
    n: int = typer.Option(20000, "--n", min=10, help="Test points (fresh draw)."),
    seed: int = typer.Option(12345, "--seed", help="Seed of the test set."),
    no_matching: bool = typer.Option(False, "--no-matching", help="Skip dictionary matching."),
    b1: float | None = typer.Option(None, "--b1", min=0.1, max=3.0,
                                    help="Fixed B1 of the test set (flip-angle scale; default: "
                                    "uniform over the model's B1 range, or 1)."),
    magnitude: bool = typer.Option(
        False, "--magnitude",
        help="Magnitude-only data: |signal + complex noise| (Rician), the magnitude networks "
        "and magnitude matching.",
    ),
    plot: Path | None = typer.Option(None, "--plot", help="PNG of MAPE per (T1, T2) bin."),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """MAPE/MPE (%), RMSE (ms) and RMSE/sqrt(CRB) of the float and quantised networks and of
    dictionary matching on a fresh test set (T1 100-3000 ms, T2 10-300 ms); for models that
    estimate the off-resonance also its RMSE (Hz) and RMSE/sqrt(CRB) (``df_hz``)."""
    check_int_option(seed, "--seed", 0, SEED_MAX)
    from ..evaluate import evaluate, plot_errors
    from ..model import load_model

    if plot is not None:
        check_output(plot, overwrite)
    mrf_model = load_model(model)
    # fingerprints of the test set (complex64) with working copies
    check_memory(n * mrf_model.n_timepoints * 8 * 4, f"--n {n}")
    methods = tuple(m for m in Method if not (no_matching and m is Method.MATCHING))
    with progress_bar("Simulating test set", enabled=not as_json) as progress:
        result = evaluate(
            mrf_model, noise=noise, n=n, seed=seed, methods=methods, b1=b1,
            representation="magnitude" if magnitude else "complex", progress=progress,
        )
    if plot is not None:
        atomic_write(plot, lambda fh: plot_errors(result, fh), overwrite=overwrite)
    payload = result.to_dict()
    if as_json:
        print_json(payload)
        return
    info(
        f"{payload['representation']} data, noise {noise} per channel, n = {n}; "
        "mean relative sqrt(CRB): "
        f"T1 {payload['crb']['t1_rel_sd_mean_pct']:.2f} %, T2 {payload['crb']['t2_rel_sd_mean_pct']:.2f} %"
    )
    info(
        f"{'method':<10} {'T1 MAPE':>8} {'MPE':>7} {'RMSE ms':>8} {'/CRB':>6}   "
        f"{'T2 MAPE':>8} {'MPE':>7} {'RMSE ms':>8} {'/CRB':>6}"
    )
    for name, m in payload["methods"].items():
        a, b = m["t1"], m["t2"]
        info(
            f"{name:<10} {a['mape']:8.2f} {a['mpe']:7.2f} {a['rmse_ms']:8.1f} {a['rmse_over_crb']:6.2f}   "
            f"{b['mape']:8.2f} {b['mpe']:7.2f} {b['rmse_ms']:8.1f} {b['rmse_over_crb']:6.2f}"
        )
    for name, m in payload["methods"].items():
        if "df_hz" in m:
            d = m["df_hz"]
            info(f"{name:<10} df RMSE {d['rmse']:.3g} Hz (bias {d['bias']:.3g} Hz), "
                 f"RMSE/sqrt(CRB) {d['rmse_over_crb']:.3g}")
    if plot is not None:
        info(f"plot: {plot}")
