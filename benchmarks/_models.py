"""Small models the benchmarks train first (seconds; timings do not depend on accuracy)."""

from __future__ import annotations

from pathlib import Path


def small_model(folder: Path) -> Path:
    from mrfrecon.model import save_model
    from mrfrecon.sequence import load_sequence, resolve_sequence_path
    from mrfrecon.training import RetrainConfig, retrain

    sequence = load_sequence(resolve_sequence_path("fisp_short400"))
    config = RetrainConfig(n_train=4000, n_val=800, seconds=None, max_epochs=(4, 4, 2),
                           patience=100, seed=7)
    return save_model(retrain(sequence, config).model, folder / "model.h5")
