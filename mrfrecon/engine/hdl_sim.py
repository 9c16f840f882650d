"""Running the RTL in GHDL through the cocotb runner, and the core harness' file formats.

The RTL and the cocotb benches ship inside the package (``mrfrecon/data/hw``, a symlink to
``hw/`` in a source checkout): see :func:`mrfrecon.resources.hw_dir`.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mrfrecon import resources
from mrfrecon.engine.config import EngineFormat
from mrfrecon.engine.golden import SampleTrace
from mrfrecon.engine.state import EngineState
from mrfrecon.errors import EngineUnavailableError, MissingDependencyError

RTL_FILES = (
    "mrf_train_pkg.vhd",
    "mrf_train_round.vhd",
    "mrf_train_lane.vhd",
    "mrf_train_replica.vhd",
    "mrf_train_core.vhd",
    "mrf_axi_lite_ctrl.vhd",
    "mrf_axi_master.vhd",
    "mrf_train_kernel.vhd",
)
CORE_FILES = RTL_FILES[:5]  # mrf_train_core and what it instantiates
MAX_LAYERS = 8  # mrf_train_pkg MaxLayers_c
MAX_REPLICAS = 64  # mrf_train_pkg MaxReplicas_c
DEFAULT_REPLICAS = 16  # mrf_train_core / mrf_train_kernel Replicas_g
MAX_WIDTH = 64
ACC_BITS = 48

# trace kinds of mrf_train_core (mrf_train_pkg Dbg*_c)
KIND_Y, KIND_ACC, KIND_DL, KIND_DP, KIND_W = 1, 2, 3, 4, 5


def hw_dir() -> Path:
    """The ``hw`` folder shipped with this package (``rtl/``, ``tb/``)."""
    path = resources.hw_dir()
    if not (path / "rtl" / RTL_FILES[0]).is_file():
        raise EngineUnavailableError(
            f"RTL sources not found in '{path / 'rtl'}' (reinstall mrfrecon from its wheel)"
        )
    return path


def require_ghdl() -> str:
    """Path of the ``ghdl`` executable; raise :class:`MissingDependencyError` without it."""
    exe = shutil.which("ghdl")
    if exe is None:
        raise MissingDependencyError(
            "GHDL is not installed (apt-get install ghdl) — needed by the hdl device"
        )
    try:
        import cocotb_tools.runner  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("cocotb is not installed (pip install 'cocotb>=2')") from exc
    return exe


def rtl_sources(extra: tuple[Path, ...] = ()) -> list[Path]:
    rtl = hw_dir() / "rtl"
    return [rtl / name for name in RTL_FILES] + list(extra)


def run_sim(
    toplevel: str,
    sources: list[Path],
    test_module: str,
    test_dir: Path,
    build_dir: Path,
    parameters: dict[str, object],
    log_file: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Path:
    """Build and run one cocotb test module with GHDL (VHDL-2008); returns the results xml.

    Raises ``SystemExit``/``RuntimeError`` from the runner when the cocotb test fails.
    """
    require_ghdl()
    from cocotb_tools.runner import get_runner

    if shutil.which("ghdl-llvm") is not None:  # compiled simulation: several times mcode's speed
        os.environ.setdefault("GHDL_BACKEND", "llvm")

    runner = get_runner("ghdl")
    env = dict(extra_env or {})
    if str(test_dir) not in sys.path:  # the runner exports sys.path as the sim's PYTHONPATH
        sys.path.insert(0, str(test_dir))
    runner.build(sources=sources, hdl_toplevel=toplevel, build_args=["--std=08"], always=True,
                 build_dir=build_dir, log_file=log_file)
    return runner.test(hdl_toplevel=toplevel, test_module=test_module, test_args=["--std=08"],
                       parameters=parameters, build_dir=build_dir, test_dir=build_dir,
                       log_file=log_file, extra_env=env)


def core_widths(widths: tuple[int, ...]) -> tuple[int, int]:
    """Lanes and address stride (columns per layer) of the core for network ``widths``."""
    n_layers = len(widths) - 1
    if not 1 <= n_layers <= MAX_LAYERS or not all(1 <= w <= MAX_WIDTH for w in widths):
        raise EngineUnavailableError(
            f"the RTL trains 1 to {MAX_LAYERS} layers of widths 1 to {MAX_WIDTH}; this network "
            f"has widths {widths}"
        )
    return max(widths[1:]), max(widths[:-1]) + 1


def core_generics(widths: tuple[int, ...]) -> dict[str, int]:
    """``Layers_g`` and ``N0_g … N8_g`` of the core (and kernel) for network ``widths``."""
    core_widths(widths)
    padded = list(widths) + [0] * (MAX_LAYERS + 1 - len(widths))
    return {"Layers_g": len(widths) - 1, **{f"N{k}_g": w for k, w in enumerate(padded)}}


def rng_address(widths: tuple[int, ...]) -> int:
    """Parameter-port address of a lane's generator state: ``L · cols``."""
    return (len(widths) - 1) * core_widths(widths)[1]


def parameter_words(state: EngineState, cols: int, rng: bool = True) -> list[tuple[int, int, int]]:
    """``(lane, address, value)`` of every master weight and bias (SPEC §8 body order), then,
    with ``rng``, every lane's generator state (as int32) at address ``L · cols``."""
    words = []
    for layer, (masters, biases) in enumerate(zip(state.masters, state.biases, strict=True)):
        n_out, n_in = masters.shape
        for i in range(n_out):
            for j in range(n_in):
                words.append((i, layer * cols + j, int(masters[i, j])))
            words.append((i, layer * cols + n_in, int(biases[i])))
    if rng:
        address = len(state.masters) * cols
        words += [(i, address, _to_int32(int(x))) for i, x in enumerate(state.lanes)]
    return words


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def state_widths(state: EngineState) -> tuple[int, ...]:
    return (state.masters[0].shape[1], *(m.shape[0] for m in state.masters))


def core_stimulus(
    state: EngineState, fmt: EngineFormat, log2_batch: int, seed: int,
    x_int: np.ndarray, t_int: np.ndarray, seed_rng: bool = True,
) -> str:
    """Text stimulus of ``hw/tb/core/mrf_tb_core_files.vhd`` (and its Verilog twin).

    seed_rng: the core seeds its generators from ``seed`` at start; the loaded generator words
    are then scrambled, so that only a working seed path gives the golden result. Otherwise the
    state's generator states are loaded through the parameter port.
    """
    _, cols = core_widths(state_widths(state))
    words = parameter_words(state, cols)
    if seed_rng:
        address = len(state.masters) * cols
        words = [(lane, addr, value ^ 0x5A5A5A5A if addr == address else value)
                 for lane, addr, value in words]
    header = [x_int.shape[0], _to_int32(seed), log2_batch, fmt.e, int(seed_rng)]
    for layer in fmt.layers:
        header += [layer.q, layer.bp, layer.s_w, layer.s_b]
    header.append(len(words))
    lines = [" ".join(map(str, header))]
    lines += [f"{lane} {addr} {value}" for lane, addr, value in words]
    for x, t in zip(x_int, t_int, strict=True):
        lines.append(" ".join(map(str, [*x.tolist(), *t.tolist()])))
    return "\n".join(lines) + "\n"


@dataclass
class CoreTrace:
    """Parsed trace of the core harness.

    events: ``(kind, layer, index, values)`` with ``values`` int64 of shape ``(n_lanes,)``.
    cycles: busy cycles of the run; params: final ``{(lane, address): value}``.
    """

    events: list[tuple[int, int, int, np.ndarray]] = field(default_factory=list)
    cycles: int = 0
    params: dict[tuple[int, int], int] = field(default_factory=dict)
    complete: bool = False


def parse_core_trace(text: str, n_lanes: int) -> CoreTrace:
    trace = CoreTrace()
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "T":
            raw = int(parts[4], 16)
            values = np.empty(n_lanes, dtype=np.int64)
            for lane in range(n_lanes):
                v = (raw >> (ACC_BITS * lane)) & ((1 << ACC_BITS) - 1)
                values[lane] = v - (1 << ACC_BITS) if v >> (ACC_BITS - 1) else v
            trace.events.append((int(parts[1]), int(parts[2]), int(parts[3]), values))
        elif parts[0] == "C":
            trace.cycles = int(parts[1])
        elif parts[0] == "R":
            trace.params[(int(parts[1]), int(parts[2]))] = int(parts[3])
        elif parts[0] == "END":
            trace.complete = True
    return trace


def run_core_harness(
    state: EngineState, fmt: EngineFormat, config, x_int: np.ndarray, t_int: np.ndarray,
    workdir: Path, timeout_us: float = 1e6, seed_rng: bool = True,
    kinds: tuple[int, ...] = (KIND_Y, KIND_ACC, KIND_DL, KIND_DP, KIND_W),
    replicas: int = DEFAULT_REPLICAS,
) -> CoreTrace:
    """Run ``hw/tb/core/mrf_tb_core_files.vhd`` on a sample stream; return its parsed trace
    (only the trace events of ``kinds``: long runs trace the updated words alone).

    replicas: ``Replicas_g`` of the core (a power of two): samples processed side by side.
    """
    widths = state_widths(state)
    lanes, _ = core_widths(widths)
    stim, trace_file = workdir / "stim.txt", workdir / "trace.txt"
    stim.write_text(core_stimulus(state, fmt, config.log2_batch, config.seed, x_int, t_int,
                                  seed_rng))
    tb = hw_dir() / "tb" / "core"
    rtl = hw_dir() / "rtl"
    run_sim(
        "mrf_tb_core_files",
        [rtl / name for name in CORE_FILES] + [tb / "mrf_tb_core_files.vhd"],
        "core_tb", tb, workdir / "build",
        {**core_generics(widths), "MasterExtra_g": config.master_extra,
         "DeltaBits_g": config.delta_bits, "Replicas_g": replicas, "StimFile_g": str(stim),
         "TraceKinds_g": sum(1 << k for k in kinds),
         "TraceFile_g": str(trace_file)},
        log_file=workdir / "sim.log",
        extra_env={"MRF_EXPECT_LANES": str(lanes), "MRF_TIMEOUT_US": str(timeout_us)},
    )
    return parse_core_trace(trace_file.read_text(), lanes)


def samples_per_round(replicas: int, batch: int) -> int:
    """Samples the core's replicas process side by side: ``min(replicas, batch)``."""
    return min(replicas, batch)


def expected_events(samples: list[SampleTrace], updates: list[EngineState], batch: int,
                    replicas: int = 1) -> list:
    """The core's trace as the golden model predicts it: ``(kind, layer, index, values)``.

    The sample events (activations, output acc/deltas, deltas) are replica 0's: the first
    sample of every round of ``min(replicas, batch)`` samples; the updated words are all.
    """
    events = []
    per_round = samples_per_round(replicas, batch)
    for k, s in enumerate(samples):
        last = len(s.deltas) - 1
        traced = k % per_round == 0
        for layer in range(1, last + 1 if traced else 1):
            events.append((KIND_Y, layer - 1, 0, s.activations[layer]))
        if traced:
            events.append((KIND_ACC, last, 0, s.acc_out))
            events.append((KIND_DL, last, 0, s.deltas[last]))
        for layer in range(last - 1 if traced else -1, -1, -1):
            for j, d in enumerate(s.deltas[layer]):
                events.append((KIND_DP, layer, j, np.array([d])))
        if (k + 1) % batch == 0:
            st = updates[(k + 1) // batch - 1]
            for layer, (m, b) in enumerate(zip(st.masters, st.biases, strict=True)):
                for j in range(m.shape[1]):
                    events.append((KIND_W, layer, j, m[:, j]))
                events.append((KIND_W, layer, m.shape[1], b))
    return events


def assert_trace_matches(trace: CoreTrace, golden: EngineState, expected, widths) -> None:
    """Assert a core trace equals the golden events and final parameters, naming the first
    difference (``AssertionError``). Events are compared kind by kind, in order (the update of
    one batch runs beside the next round's forward pass, so kinds interleave by timing)."""
    assert trace.complete, "harness did not finish"
    names = {KIND_Y: "activation", KIND_ACC: "output acc", KIND_DL: "output delta",
             KIND_DP: "delta", KIND_W: "updated word"}
    assert len(trace.events) == len(expected), (len(trace.events), len(expected))
    for kind, name in names.items():
        got_k = [e for e in trace.events if e[0] == kind]
        want_k = [e for e in expected if e[0] == kind]
        assert len(got_k) == len(want_k), f"{name}: rtl {len(got_k)} events, golden {len(want_k)}"
        for n, (got, want) in enumerate(zip(got_k, want_k, strict=True)):
            _, layer, index, values = want
            assert got[1:3] == (layer, index), f"{name} {n}: got {got[:3]}, want {want[:3]}"
            g = got[3][: len(values)]
            assert np.array_equal(g, values), (
                f"{name} {n}: layer {layer} index {index}: rtl {g.tolist()} "
                f"golden {np.asarray(values).tolist()}"
            )
    _, cols = core_widths(widths)
    for lane, addr, value in parameter_words(golden, cols):
        word = trace.params.get((lane, addr))
        assert word == value, f"final word lane {lane} addr {addr}: rtl {word} golden {value}"
