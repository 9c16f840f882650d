"""Device selection and the XRT backend without a card."""

import numpy as np
import pytest

from mrfrecon.engine import FixedPointConfig, resolve_device, train_fixed
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.xrt import fpga_available
from mrfrecon.errors import EngineUnavailableError, MissingDependencyError


@pytest.mark.skipif(fpga_available(), reason="an XRT device is present")
def test_auto_is_emu_without_a_card():
    assert resolve_device("auto") == "emu"


@pytest.mark.skipif(fpga_available(), reason="an XRT device is present")
def test_fpga_without_card_fails_with_one_line():
    rng = np.random.default_rng(0)
    net = random_network(rng)
    with pytest.raises((MissingDependencyError, EngineUnavailableError)) as info:
        train_fixed(net, *random_data(rng, 32), FixedPointConfig(), device="fpga")
    assert "\n" not in str(info.value) and ("pyxrt" in str(info.value) or "XRT" in str(info.value))


def test_unknown_device_is_rejected():
    with pytest.raises(EngineUnavailableError, match="unknown device 'gpu'"):
        resolve_device("gpu")


@pytest.mark.parametrize(
    ("widths", "match"),
    [pytest.param((65, 4, 2), "1 to 64 neurons", id="input-65"),
     pytest.param((4,) * 10 + (2,), "1 to 8 layers", id="10-layers")],
)
def test_kernel_devices_reject_networks_interface_v2_cannot_describe(widths, match):
    """SPEC §8.2: up to 8 layers of up to 64 neurons; refused before any simulation starts."""
    rng = np.random.default_rng(0)
    net = random_network(rng, widths=widths)
    data = random_data(rng, 16, widths[0], widths[-1])
    with pytest.raises(EngineUnavailableError, match=match):
        train_fixed(net, *data, FixedPointConfig(), device="hdl")
