"""The QC report: one HTML page with PNG figures (matplotlib, Agg back end).

Figures (the middle slice of the volume): T1, T2, |M0|, quality and the sqrt(CRB) maps with
colour bars; histograms of T1 and T2 in the mask; with truth, the percentage error maps,
estimate-vs-truth scatter plots and Bland-Altman plots (difference against mean, with the bias
and the 95 % limits of agreement).
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write, check_outputs_free
from ..mapset import MapSet
from .metrics import REFERENCE_TABLE, MapSummary, Stats


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _slice(volume: np.ndarray) -> np.ndarray:
    return np.asarray(volume)[:, :, volume.shape[2] // 2].T  # rows = y for display


def _fitted(maps: MapSet) -> np.ndarray:
    """The voxels shown: the mask, or every voxel of maps that have none."""
    return np.ones(maps.t1_ms.shape, bool) if maps.mask is None else maps.mask.astype(bool)


def _map_figure(maps: MapSet) -> bytes:
    import matplotlib.pyplot as plt

    panels = [("T1 (ms)", maps.t1_ms, "magma"), ("T2 (ms)", maps.t2_ms, "viridis"),
              ("|M0| (a.u.)", np.abs(maps.m0), "gray")]
    if maps.quality is not None:
        panels.append(("quality", maps.quality, "cividis"))
    if maps.t1_sd_ms is not None and maps.t2_sd_ms is not None:
        panels += [("T1 SD, sqrt(CRB) (ms)", maps.t1_sd_ms, "inferno"),
                   ("T2 SD, sqrt(CRB) (ms)", maps.t2_sd_ms, "inferno")]
    if maps.df_hz is not None:
        panels.append(("off-resonance (Hz)", maps.df_hz, "coolwarm"))
    mask = _fitted(maps)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2))
    for ax, (title, volume, cmap) in zip(np.atleast_1d(axes), panels, strict=True):
        values = np.asarray(volume, np.float64)
        inside = values[mask]
        signed = cmap == "coolwarm"  # off-resonance: symmetric about 0 Hz
        inside = np.abs(inside) if signed else inside
        vmax = float(np.percentile(inside, 99)) if inside.size else 1.0
        image = ax.imshow(_slice(np.where(mask, values, np.nan)), cmap=cmap,
                          vmin=-(vmax or 1.0) if signed else 0, vmax=vmax or 1.0,
                          origin="lower")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return _png(fig)


def _histograms(maps: MapSet) -> bytes:
    import matplotlib.pyplot as plt

    mask = _fitted(maps)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, (name, values) in zip(axes, (("T1 (ms)", maps.t1_ms), ("T2 (ms)", maps.t2_ms)),
                                  strict=True):
        ax.hist(values[mask], bins=80, color="0.3")
        ax.set_xlabel(name)
        ax.set_ylabel("voxels")
    fig.tight_layout()
    return _png(fig)


def _truth_figures(maps: MapSet, truth: dict[str, np.ndarray]) -> dict[str, bytes]:
    import matplotlib.pyplot as plt

    keep = _fitted(maps)
    figures = {}
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    for ax, name in zip(axes, ("t1", "t2"), strict=True):
        est, ref = getattr(maps, f"{name}_ms"), truth[name]
        ok = keep & (ref > 0)
        err = np.where(ok, 100 * (est - ref) / np.where(ref > 0, ref, 1), np.nan)
        image = ax.imshow(_slice(err), cmap="coolwarm", vmin=-20, vmax=20, origin="lower")
        ax.set_title(f"{name.upper()} error (%)", fontsize=9)
        ax.axis("off")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    figures["errors.png"] = _png(fig)
    fig, axes = plt.subplots(2, 2, figsize=(8, 7))
    for col, name in enumerate(("t1", "t2")):
        est, ref = getattr(maps, f"{name}_ms"), truth[name]
        ok = keep & (ref > 0)
        e, t = est[ok], ref[ok]
        ax = axes[0, col]
        ax.scatter(t, e, s=2, alpha=0.3)
        if t.size:
            lim = [0, float(max(t.max(), e.max()))]
            ax.plot(lim, lim, "k--", lw=1)
        ax.set_xlabel(f"true {name.upper()} (ms)")
        ax.set_ylabel(f"estimated {name.upper()} (ms)")
        ax = axes[1, col]
        mean, diff = (e + t) / 2, e - t
        ax.scatter(mean, diff, s=2, alpha=0.3)
        if diff.size:
            bias, sd = float(diff.mean()), float(diff.std())
            for y, style in ((bias, "-"), (bias + 1.96 * sd, "--"), (bias - 1.96 * sd, "--")):
                ax.axhline(y, color="k", ls=style, lw=1)
        ax.set_xlabel(f"mean {name.upper()} (ms)")
        ax.set_ylabel("estimate - truth (ms)")
        ax.set_title("Bland-Altman", fontsize=9)
    fig.tight_layout()
    figures["agreement.png"] = _png(fig)
    return figures


def _table(metrics: dict[str, dict[str, float]], method: str) -> str:
    rows = ["<table><tr><th></th><th>T1 MAPE %</th><th>T1 MPE %</th><th>T1 RMSE ms</th>"
            "<th>T2 MAPE %</th><th>T2 MPE %</th><th>T2 RMSE ms</th></tr>"]

    def row(label: str, m: dict[str, dict[str, float]]) -> str:
        cells = "".join(f"<td>{m[p][k]:.2f}</td>" for p in ("t1", "t2")
                        for k in ("mape", "mpe", "rmse_ms"))
        return f"<tr><th>{html.escape(label)}</th>{cells}</tr>"

    rows.append(row(f"this run ({method})", metrics))
    for name, values in REFERENCE_TABLE.items():
        rows.append(row(f"reference work, {name} network", values))
    return "\n".join(rows) + "</table>"


def write_report(report_dir: str | Path, maps: MapSet, summary: MapSummary, *,
                 metrics: dict[str, Any] | None = None,
                 truth: dict[str, np.ndarray] | None = None, title: str = "mrfrecon maps",
                 overwrite: bool = False) -> list[Path]:
    """Write ``index.html`` and its PNG figures into ``report_dir`` (created); returns the paths.

    truth: ``{"t1": ms, "t2": ms}`` volumes for the error figures; metrics: from
    :func:`~mrfrecon.metrics.error_metrics` per ``t1``/``t2``.
    """
    import matplotlib

    matplotlib.use("Agg")
    report_dir = Path(report_dir)
    figures = {"maps.png": _map_figure(maps), "histograms.png": _histograms(maps)}
    if truth is not None:
        figures.update(_truth_figures(maps, truth))
    outputs = [report_dir / name for name in figures] + [report_dir / "index.html"]
    check_outputs_free(outputs, overwrite=overwrite)
    report_dir.mkdir(parents=True, exist_ok=True)

    def fmt(stats: Stats) -> str:
        if stats.median is None:
            return "-"
        return f"{stats.median:.4g} (IQR {stats.q1:.4g}-{stats.q3:.4g})"

    items = [("voxels fitted", str(summary.n_voxels)), ("method", summary.method),
             ("T1 (ms)", fmt(summary.t1_ms)), ("T2 (ms)", fmt(summary.t2_ms)),
             ("quality", fmt(summary.quality))]
    if summary.t1_sd_ms is not None and summary.t2_sd_ms is not None:
        items += [("T1 SD (ms)", fmt(summary.t1_sd_ms)), ("T2 SD (ms)", fmt(summary.t2_sd_ms))]
    if summary.df_hz is not None:
        items.append(("off-resonance (Hz)", fmt(summary.df_hz)))
    sigma = summary.noise_sigma
    items.append(("noise sigma", "-" if sigma is None else
                  f"{sigma:.4g} ({summary.noise_method})"))
    items.append(("at range limits", ", ".join(f"{k.upper()} {100 * v:.1f}%" for k, v in
                                               summary.fraction_at_range_limits.items())))
    body = [f"<h1>{html.escape(title)}</h1>", "<h2>Summary (inside the mask)</h2><table>"]
    body += [f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in items]
    body.append("</table>")
    if summary.warnings:
        body.append("<h2>Warnings</h2><ul>" + "".join(
            f"<li>{html.escape(w)}</li>" for w in summary.warnings) + "</ul>")
    if metrics:
        body.append("<h2>Errors against truth</h2>" + _table(metrics, summary.method))
    body.append('<h2>Maps</h2><img src="maps.png" alt="maps">')
    body.append('<h2>Histograms</h2><img src="histograms.png" alt="histograms">')
    if truth is not None:
        body.append('<h2>Errors</h2><img src="errors.png" alt="error maps">')
        body.append('<h2>Agreement</h2><img src="agreement.png" alt="scatter and Bland-Altman">')
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
            "text-align:left}img{max-width:100%}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
    written = [atomic_write(report_dir / name, data, overwrite=overwrite)
               for name, data in figures.items()]
    written.append(atomic_write(report_dir / "index.html", page.encode(), overwrite=overwrite))
    return written
