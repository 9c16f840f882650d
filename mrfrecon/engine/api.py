"""Public entry point: ``train_fixed`` on the golden model, the software engine, GHDL or a card."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.state import EngineState
from mrfrecon.engine.stream import DEFAULT_CHUNK_SAMPLES, SampleStream, make_stream
from mrfrecon.errors import EngineUnavailableError
from mrfrecon.quantized import IntegerMLP

DEVICES = ("golden", "emu", "hdl", "fpga")


@dataclass(frozen=True)
class FixedPointResult:
    """Outcome of :func:`train_fixed`.

    network: the trained integer network (int8 weights, scales of the input network).
    state: master weights, biases and generator states (to resume training).
    device: the device that ran ("golden", "emu", "hdl" or "fpga").
    n_samples: samples processed (epochs × n rounded down to whole batches).
    n_updates: weight updates applied.
    mse_before, mse_after: mean squared error of the integer network's real outputs on the
        training set before and after training (target units²).
    """

    network: IntegerMLP
    state: EngineState
    device: str
    n_samples: int
    n_updates: int
    mse_before: float
    mse_after: float


def resolve_device(device: str) -> str:
    """Map ``"auto"`` to ``"fpga"`` when an XRT device is present, else ``"emu"``."""
    if device == "auto":
        from mrfrecon.engine.xrt import fpga_available

        return "fpga" if fpga_available() else "emu"
    if device not in DEVICES:
        raise EngineUnavailableError(
            f"unknown device '{device}' (choose from auto, {', '.join(DEVICES)})"
        )
    return device


def _mse(network: IntegerMLP, inputs: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean((network.forward(inputs) - np.asarray(targets, np.float64)) ** 2))


def train_chunks(
    step: Callable[[EngineState, np.ndarray, np.ndarray, Callable[[int, int], None] | None],
                   EngineState],
    stream: SampleStream,
    state: EngineState,
    chunk_samples: int = DEFAULT_CHUNK_SAMPLES,
    progress: Callable[[int, int], None] | None = None,
) -> EngineState:
    """Run ``step(state, x_chunk, t_chunk, chunk_progress) -> state`` over the stream, chunk by
    chunk (SPEC §5). Chunks end on batch boundaries, so the result equals one call on the whole
    stream. ``chunk_progress(done_in_chunk, chunk_size)`` is forwarded to ``progress``.
    """
    done, total = 0, stream.n_samples
    for x_chunk, t_chunk in stream.chunks(chunk_samples):
        inner = None if progress is None else (lambda d, _t, base=done: progress(base + d, total))
        state = step(state, x_chunk, t_chunk, inner)
        done += x_chunk.shape[0]
        if progress is not None:
            progress(done, total)
    return state


def train_fixed(
    network: IntegerMLP,
    inputs: np.ndarray,
    targets: np.ndarray,
    config: FixedPointConfig | None = None,
    device: str = "emu",
    progress: Callable[[int, int], None] | None = None,
    xclbin: str | None = None,
    chunk_samples: int = DEFAULT_CHUNK_SAMPLES,
) -> FixedPointResult:
    """Train ``network`` in integer arithmetic (``hw/SPEC.md``) on one device.

    network: the QAT model's integer network (hidden ReLU uint8 layers, linear output).
    inputs: real inputs, shape ``(n, n_in)``, scaled for the network's input quantiser.
    targets: real targets, shape ``(n, n_out)`` (scaled T1, T2, roughly in [0, 1]).
    device: "golden" (slow reference), "emu" (fast software), "hdl" (GHDL simulation of the
        RTL, small runs only), "fpga" (XRT card) or "auto".
    progress: called as ``progress(samples_done, samples_total)``.
    xclbin: path of the kernel binary for ``device="fpga"``.
    chunk_samples: the stream of ``epochs × n`` samples is generated and trained this many
        samples at a time (bounded host memory; the result does not depend on it). ``hdl`` runs
        the whole stream as one simulation.
    """
    config = config or FixedPointConfig()
    device = resolve_device(device)
    fmt = EngineFormat.derive(network, config)
    stream = make_stream(network, inputs, targets, config, fmt.target_frac)
    state = EngineState.from_network(network, config)
    if device == "golden":
        from mrfrecon.engine.golden import train_golden

        trained = train_chunks(lambda s, x, t, _p: train_golden(s, fmt, config, x, t), stream, state,
                               chunk_samples, progress)
    elif device == "emu":
        from mrfrecon.engine.emu import train_emu

        trained = train_chunks(lambda s, x, t, p: train_emu(s, fmt, config, x, t, p), stream, state,
                               chunk_samples, progress)
    elif device == "hdl":
        from mrfrecon.engine.hdl import train_hdl

        x_int, t_int = stream.chunk(0, stream.n_samples)
        trained = train_hdl(network, state, fmt, config, x_int, t_int, progress)
    else:
        from mrfrecon.engine.xrt import train_xrt

        trained = train_xrt(stream, state, fmt, config, xclbin, progress, chunk_samples)
    result_net = trained.to_network(network)
    return FixedPointResult(
        network=result_net,
        state=trained,
        device=device,
        n_samples=stream.n_samples,
        n_updates=trained.n_updates,
        mse_before=_mse(network, inputs, targets),
        mse_after=_mse(result_net, inputs, targets),
    )
