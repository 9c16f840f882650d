"""Per-sequence-kind training settings: bSSFP gets its own, FISP and explicit fields keep theirs."""

from __future__ import annotations

from dataclasses import replace

from mrfrecon.training.config import RetrainConfig
from mrfrecon.training.kinds import KIND_SETTINGS, for_sequence


def test_bssfp_takes_its_settings_where_the_config_has_the_generic_defaults(ma_bssfp):
    config = for_sequence(RetrainConfig(), ma_bssfp)
    for name, value in KIND_SETTINGS["bssfp"].items():
        assert getattr(config, name) == value, name
    assert config != RetrainConfig()  # the settings differ from the generic ones
    assert for_sequence(config, ma_bssfp) == config  # the CLI resolves, then retrain again
    # The quantised network keeps the FPGA size whatever the float one is.
    assert config.quant_widths == RetrainConfig().quant_widths


def test_explicit_fields_and_the_switch_win(ma_bssfp):
    explicit = RetrainConfig(float_widths=(32, 32), n_train=5000)
    config = for_sequence(explicit, ma_bssfp)
    assert config.float_widths == (32, 32) and config.n_train == 5000
    assert config.learning_rate == KIND_SETTINGS["bssfp"]["learning_rate"]
    off = RetrainConfig(kind_defaults=False)
    assert for_sequence(off, ma_bssfp) == off


def test_fisp_keeps_the_generic_defaults(jiang, short_fisp):
    for sequence in (jiang, short_fisp):
        assert sequence.kind == "fisp"
        assert for_sequence(RetrainConfig(), sequence) == RetrainConfig()
        capped = replace(RetrainConfig(), seconds=10.0)
        assert for_sequence(capped, sequence) == capped
