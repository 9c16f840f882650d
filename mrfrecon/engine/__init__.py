"""Fixed-point (integer) training engine of the quantised MLP — see ``hw/SPEC.md``.

Devices: ``golden`` (readable reference), ``emu`` (fast, bit-exact software), ``hdl`` (GHDL
simulation of ``hw/rtl``), ``fpga`` (Alveo U250 through XRT).
"""

from mrfrecon.engine.api import DEVICES, FixedPointResult, resolve_device, train_fixed
from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.state import EngineState

__all__ = [
    "DEVICES",
    "EngineFormat",
    "EngineState",
    "FixedPointConfig",
    "FixedPointResult",
    "resolve_device",
    "train_fixed",
]
