"""The host side of the ``mrf_train`` kernel, shared by the XRT and the GHDL backends.

One description of a run (:class:`KernelJob`: buffers, arguments, register writes) is built once
(``hw/SPEC.md`` §8); ``xrt.py`` hands it to ``pyxrt``, ``hdl.py`` replays it on the simulated
AXI buses. Both decode the ``weights_out`` buffer with :func:`decode_weights`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.emu import _RandomPlan, _xorshift_advance
from mrfrecon.engine.hdl_sim import core_widths
from mrfrecon.engine.state import EngineState

KERNEL_NAME = "mrf_train"
MAGIC = 0x3146524D  # "MRF1"
HEADER_WORDS = 16
BUFFER_ALIGN = 4096

# register map of s_axi_control (kernel.xml and mrf_axi_lite_ctrl.vhd)
REG_CTRL = 0x00
REG_GIE = 0x04
REG_IER = 0x08
REG_ISR = 0x0C
ARGUMENTS = (("samples", 0x10, 64), ("weights_in", 0x1C, 64), ("weights_out", 0x28, 64),
             ("n_samples", 0x34, 32))
AP_START, AP_DONE, AP_IDLE, AP_READY = 0x1, 0x2, 0x4, 0x8


@dataclass(frozen=True)
class KernelJob:
    """Everything the device needs for one training run.

    buffers: initial contents of the global-memory buffers, by argument name (``weights_out`` is
        zero-filled, its size the body size).
    n_samples: samples in the ``samples`` buffer (a whole number of batches).
    widths: network widths ``(n_0, n_1, n_2, n_3)``.
    """

    buffers: dict[str, bytes]
    n_samples: int
    widths: tuple[int, ...]

    def arguments(self, addresses: dict[str, int]) -> list[int]:
        """Kernel arguments in order (device addresses of the buffers, then ``n_samples``)."""
        return [addresses[name] if name in self.buffers else self.n_samples
                for name, _, _ in ARGUMENTS]

    def register_writes(self, addresses: dict[str, int]) -> list[tuple[int, int]]:
        """``(offset, value)`` AXI4-Lite writes that start the kernel — what XRT issues."""
        writes = []
        for (_, offset, bits), value in zip(ARGUMENTS, self.arguments(addresses), strict=True):
            writes.append((offset, value & 0xFFFFFFFF))
            if bits == 64:
                writes.append((offset + 4, value >> 32))
        writes.append((REG_CTRL, AP_START))
        return writes


def body_words(state: EngineState) -> np.ndarray:
    """Parameter body (SPEC §8): per layer, per row, the masters then the bias; int64."""
    words = []
    for masters, biases in zip(state.masters, state.biases, strict=True):
        for i in range(masters.shape[0]):
            words.extend(masters[i].tolist())
            words.append(int(biases[i]))
    return np.array(words, dtype=np.int64)


def build_job(
    state: EngineState, fmt: EngineFormat, config: FixedPointConfig,
    x_int: np.ndarray, t_int: np.ndarray,
) -> KernelJob:
    """Pack a sample stream and the initial state into the kernel's buffers (SPEC §8)."""
    widths = (state.masters[0].shape[1], *(m.shape[0] for m in state.masters))
    core_widths(widths)  # raises for networks the RTL does not implement
    if config.master_extra != 8 or config.delta_bits != 16 or config.bias_bits != 32:
        raise ValueError("the kernel is built for master_extra=8, delta_bits=16, bias_bits=32")
    lf = fmt.layers
    header = np.zeros(HEADER_WORDS, dtype=np.uint32)
    header[:14] = [MAGIC, config.seed, config.log2_batch, fmt.e, lf[0].q, lf[1].q, lf[1].bp,
                   lf[2].bp, lf[0].s_w, lf[1].s_w, lf[2].s_w, lf[0].s_b, lf[1].s_b, lf[2].s_b]
    body = body_words(state)
    weights_in = header.tobytes() + body.astype("<i4").tobytes()
    n, n_in = x_int.shape
    wx = (n_in + 3) // 4
    x_bytes = np.zeros((n, 4 * wx), dtype=np.int8)
    x_bytes[:, :n_in] = x_int
    samples = np.concatenate([x_bytes.view(np.uint8), t_int.astype("<i4").view(np.uint8)], axis=1)
    return KernelJob(
        buffers={"samples": samples.tobytes(), "weights_in": weights_in,
                 "weights_out": bytes(4 * body.size)},
        n_samples=n,
        widths=widths,
    )


def decode_weights(
    data: bytes, initial: EngineState, config: FixedPointConfig, n_updates: int
) -> EngineState:
    """The trained state from a ``weights_out`` buffer.

    The generators are not read back: their states after ``n_updates`` updates are recomputed
    (they depend only on the seed and the update count, SPEC §4).
    """
    words = np.frombuffer(data, dtype="<i4").astype(np.int64)
    state = initial.copy()
    pos = 0
    for index, masters in enumerate(state.masters):
        n_out, n_in = masters.shape
        block = words[pos : pos + n_out * (n_in + 1)].reshape(n_out, n_in + 1)
        state.masters[index] = block[:, :n_in].copy()
        state.biases[index] = block[:, n_in].copy()
        pos += n_out * (n_in + 1)
    plan = _RandomPlan([m.shape for m in state.masters], state.lanes.size)
    lanes = state.lanes.astype(np.uint32)
    _xorshift_advance(lanes, plan.counts * n_updates)
    state.lanes = lanes
    state.n_updates += n_updates
    return state
