"""RetrainConfig.from_options: the retrain command's policies, without torch."""

from __future__ import annotations

import pytest

from mrfrecon.training.config import HDL_DEFAULT_SAMPLES, RetrainConfig


def test_the_default_run_has_no_clock_cap():
    assert RetrainConfig().seconds is None  # epochs alone set the length: reproducible
    assert RetrainConfig().rank is None  # chosen per sequence by the noise rule


def test_a_capped_run_keeps_the_defaults():
    config = RetrainConfig.from_options(seconds=12.0, n_train=30000, seed=3)
    default = RetrainConfig()
    assert config.seconds == 12.0 and config.seed == 3
    assert config.max_epochs == default.max_epochs and config.patience == default.patience
    assert config.n_val == 3000  # a tenth of the pool
    assert config.fixed_samples is None  # the whole pool


def test_epochs_set_every_stage_and_a_cap_stays_a_cap():
    config = RetrainConfig.from_options(epochs=4)
    assert config.seconds is None and config.max_epochs == (4, 4, 4) and config.patience == 5
    assert RetrainConfig.from_options(epochs=4, seconds=12.0).seconds == 12.0


@pytest.mark.parametrize(
    ("device", "given", "expected"),
    [("hdl", None, HDL_DEFAULT_SAMPLES), ("hdl", 64, 64), ("emu", None, None), ("emu", 64, 64)],
    ids=["hdl-default", "hdl-given", "emu-default", "emu-given"],
)
def test_fixed_samples(device, given, expected):
    config = RetrainConfig.from_options(engine="fixed", device=device, fixed_samples=given)
    assert config.fixed_samples == expected


def test_validation_set_has_a_floor_and_can_be_given():
    assert RetrainConfig.from_options(n_train=2000).n_val == 1000
    assert RetrainConfig.from_options(n_train=2000, n_val=1500).n_val == 1500


def test_the_default_config_is_what_the_policies_give():
    assert RetrainConfig.from_options() == RetrainConfig()
