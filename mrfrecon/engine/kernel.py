"""The host side of the ``mrf_train`` kernel (interface v2), shared by the XRT and GHDL backends.

One description of a run (:class:`KernelJob`: buffers, arguments, register writes) is built once
(``hw/SPEC.md`` §8); ``xrt.py`` hands it to ``pyxrt``, ``hdl.py`` replays it on the simulated
AXI buses. Both decode the ``weights_out`` buffer with :func:`decode_weights`. A long run is a
sequence of such jobs, one per chunk of the sample stream (SPEC §5): each job's ``weights_in``
carries the generator states the previous job wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mrfrecon.engine.arith import lane_seeds
from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.state import EngineState
from mrfrecon.errors import EngineRunError, EngineUnavailableError

KERNEL_NAME = "mrf_train"
MAGIC = 0x3246524D  # "MRF2": bytes 4D 52 46 32
BUFFER_ALIGN = 4096
SAMPLE_BEAT_BYTES = 64  # the kernel reads samples as whole 512-bit AXI beats (SPEC §8.3)

# weights_in header (SPEC §8.2): fixed word positions, whatever the depth
HEADER_WORDS = 64
MAX_LAYERS = 8
MAX_WIDTH = 64
FLAG_LOAD_RNG = 0x1
H_MAGIC, H_FLAGS, H_LAYERS, H_SEED, H_LOG2_BATCH, H_E, H_LANES = 0, 1, 2, 3, 4, 5, 6
H_MASTER_EXTRA, H_DELTA_BITS, H_BIAS_BITS = 7, 8, 9
H_WIDTHS = 16  # n_0 … n_L at 16 … 16+L
H_LAYER_SHIFTS = 32  # q, bp, s_w, s_b of layer l at 32 + 4(l-1) …
SHIFTS_PER_LAYER = 4

# weights_out (SPEC §8.4): status, reserved, samples trained (lo, hi), then states and body
OUT_HEADER_WORDS = 4
STATUS_OK, STATUS_BAD_MAGIC, STATUS_UNSUPPORTED, STATUS_PARTIAL_BATCH = 0, 1, 2, 3
STATUS_TEXT = {
    STATUS_BAD_MAGIC: "bad magic in weights_in",
    STATUS_UNSUPPORTED: "the kernel was built for another network shape or number format",
    STATUS_PARTIAL_BATCH: "n_samples is not a multiple of the batch",
}

# register map of s_axi_control (SPEC §8.1; kernel.xml and package_xo.tcl repeat it)
REG_CTRL = 0x00
REG_GIE = 0x04
REG_IER = 0x08
REG_ISR = 0x0C
ARGUMENTS = (("samples", 0x10, 64), ("weights_in", 0x1C, 64), ("weights_out", 0x28, 64),
             ("n_samples_lo", 0x34, 32), ("n_samples_hi", 0x3C, 32))
BUFFER_ARGUMENTS = ("samples", "weights_in", "weights_out")
AP_START, AP_DONE, AP_IDLE, AP_READY = 0x1, 0x2, 0x4, 0x8
MASK_32 = 0xFFFFFFFF


@dataclass(frozen=True)
class KernelJob:
    """Everything the device needs for one kernel run (one chunk of the stream).

    buffers: initial contents of the global-memory buffers, by argument name (``weights_out`` is
        zero-filled, sized for the status words, generator states and body).
    n_samples: samples in the ``samples`` buffer (a whole number of batches; 64-bit).
    widths: network widths ``(n_0, …, n_L)``.
    """

    buffers: dict[str, bytes]
    n_samples: int
    widths: tuple[int, ...]

    def arguments(self, addresses: dict[str, int]) -> list[int]:
        """Kernel arguments in order: device addresses of the buffers, then the sample count's
        low and high 32 bits."""
        scalars = {"n_samples_lo": self.n_samples & MASK_32, "n_samples_hi": self.n_samples >> 32}
        return [addresses[name] if name in BUFFER_ARGUMENTS else scalars[name]
                for name, _, _ in ARGUMENTS]

    def register_writes(self, addresses: dict[str, int]) -> list[tuple[int, int]]:
        """``(offset, value)`` AXI4-Lite writes that start the kernel — what XRT issues."""
        writes = []
        for (_, offset, bits), value in zip(ARGUMENTS, self.arguments(addresses), strict=True):
            writes.append((offset, value & MASK_32))
            if bits == 64:
                writes.append((offset + 4, value >> 32))
        writes.append((REG_CTRL, AP_START))
        return writes


def state_widths(state: EngineState) -> tuple[int, ...]:
    """Network widths ``(n_0, …, n_L)`` of a training state."""
    return (state.masters[0].shape[1], *(m.shape[0] for m in state.masters))


def check_shape(widths: tuple[int, ...]) -> None:
    """Raise :class:`EngineUnavailableError` for networks interface v2 cannot describe."""
    n_layers = len(widths) - 1
    if not 1 <= n_layers <= MAX_LAYERS:
        raise EngineUnavailableError(
            f"the kernel trains networks of 1 to {MAX_LAYERS} layers; this one has {n_layers} "
            f"(widths {widths})"
        )
    if not all(1 <= w <= MAX_WIDTH for w in widths):
        raise EngineUnavailableError(
            f"the kernel trains layers of 1 to {MAX_WIDTH} neurons; widths are {widths}"
        )


def body_words(state: EngineState) -> np.ndarray:
    """Parameter body (SPEC §8.2): per layer, per row, the masters then the bias; int64."""
    blocks = [np.concatenate([masters, biases[:, None]], axis=1).ravel()
              for masters, biases in zip(state.masters, state.biases, strict=True)]
    return np.concatenate(blocks).astype(np.int64)


def header_words(state: EngineState, fmt: EngineFormat, config: FixedPointConfig) -> np.ndarray:
    """The 64 header words of ``weights_in`` (SPEC §8.2), uint32.

    ``LOAD_RNG`` is set unless the generators are still the freshly seeded ones, so the kernel's
    own seeding is used (and tested) for a first chunk and the carried states for the others.
    """
    widths = state_widths(state)
    check_shape(widths)
    n_layers = len(widths) - 1
    fresh = state.n_updates == 0 and np.array_equal(state.lanes,
                                                    lane_seeds(config.seed, state.lanes.size))
    header = np.zeros(HEADER_WORDS, dtype=np.uint32)
    header[H_MAGIC] = MAGIC
    header[H_FLAGS] = 0 if fresh else FLAG_LOAD_RNG
    header[H_LAYERS] = n_layers
    header[H_SEED] = config.seed
    header[H_LOG2_BATCH] = config.log2_batch
    header[H_E] = fmt.e
    header[H_LANES] = state.lanes.size
    header[H_MASTER_EXTRA] = config.master_extra
    header[H_DELTA_BITS] = config.delta_bits
    header[H_BIAS_BITS] = config.bias_bits
    header[H_WIDTHS : H_WIDTHS + n_layers + 1] = widths
    for index, layer in enumerate(fmt.layers):
        pos = H_LAYER_SHIFTS + SHIFTS_PER_LAYER * index
        header[pos : pos + SHIFTS_PER_LAYER] = [layer.q, layer.bp, layer.s_w, layer.s_b]
    return header


def weights_in_bytes(state: EngineState, fmt: EngineFormat, config: FixedPointConfig) -> bytes:
    """``weights_in``: header, the ``N`` generator states, the body (SPEC §8.2)."""
    if state.lanes.size != max(state_widths(state)[1:]) or not state.lanes.all():
        raise ValueError("generator states: need N = max(n_1 … n_L) nonzero words")
    return (header_words(state, fmt, config).astype("<u4").tobytes()
            + state.lanes.astype("<u4").tobytes()
            + body_words(state).astype("<i4").tobytes())


def sample_words(n_in: int, n_out: int) -> int:
    """Words per sample in the ``samples`` buffer: ``ceil(n_in / 4)`` packed inputs + targets."""
    return (n_in + 3) // 4 + n_out


def samples_bytes(n_in: int, n_out: int, n_samples: int) -> int:
    """Size of the ``samples`` buffer in bytes: the samples, padded with zeros to whole
    64-byte beats (the kernel's reads)."""
    size = 4 * sample_words(n_in, n_out) * n_samples
    return -(-size // SAMPLE_BEAT_BYTES) * SAMPLE_BEAT_BYTES


def pack_samples(x_int: np.ndarray, t_int: np.ndarray) -> bytes:
    """The ``samples`` buffer (SPEC §8.3) of int8 inputs ``(k, n_0)`` and int32 targets
    ``(k, n_L)``, zero-padded to :func:`samples_bytes`."""
    n, n_in = x_int.shape
    n_packed = 4 * ((n_in + 3) // 4)
    rows = np.zeros((n, n_packed + 4 * t_int.shape[1]), dtype=np.uint8)
    rows[:, :n_in] = np.asarray(x_int, dtype=np.int8).view(np.uint8)
    rows[:, n_packed:] = np.ascontiguousarray(t_int, dtype="<i4").view(np.uint8)
    data = rows.tobytes()
    return data + bytes(samples_bytes(n_in, t_int.shape[1], n) - len(data))


def out_words(state: EngineState) -> int:
    """Size of ``weights_out`` in words: status words, generator states, body."""
    return OUT_HEADER_WORDS + state.lanes.size + sum(m.size + m.shape[0] for m in state.masters)


def build_job_packed(
    state: EngineState, fmt: EngineFormat, config: FixedPointConfig, samples: bytes,
    n_samples: int,
) -> KernelJob:
    """A job for an already packed ``samples`` buffer of ``n_samples`` samples."""
    widths = state_widths(state)
    if n_samples % config.batch:
        raise ValueError(f"{n_samples} samples is not a multiple of the batch {config.batch}")
    if len(samples) != samples_bytes(widths[0], widths[-1], n_samples):
        raise ValueError(f"samples buffer of {len(samples)} bytes for {n_samples} samples")
    return KernelJob(
        buffers={"samples": samples, "weights_in": weights_in_bytes(state, fmt, config),
                 "weights_out": bytes(4 * out_words(state))},
        n_samples=n_samples,
        widths=widths,
    )


def build_job(
    state: EngineState, fmt: EngineFormat, config: FixedPointConfig,
    x_int: np.ndarray, t_int: np.ndarray,
) -> KernelJob:
    """Pack a chunk of the sample stream and the state into the kernel's buffers (SPEC §8)."""
    return build_job_packed(state, fmt, config, pack_samples(x_int, t_int), x_int.shape[0])


def decode_weights(
    data: bytes, initial: EngineState, config: FixedPointConfig, n_updates: int
) -> EngineState:
    """The state after a run from its ``weights_out`` buffer (SPEC §8.4).

    Checks the status word and that ``n_updates`` batches were trained; the generator states are
    read back (they continue in the next chunk). Raises :class:`EngineRunError` otherwise.
    """
    words = np.frombuffer(data, dtype="<u4")
    if words.size < OUT_HEADER_WORDS:
        raise EngineRunError(f"weights_out has {words.size} words, expected {out_words(initial)}")
    status = int(words[0])
    if status != STATUS_OK:
        reason = STATUS_TEXT.get(status, "unknown status")
        raise EngineRunError(f"the kernel refused the run: status {status} ({reason})")
    trained = int(words[2]) | int(words[3]) << 32
    if trained != n_updates * config.batch:
        raise EngineRunError(
            f"the kernel trained {trained} samples, expected {n_updates * config.batch}"
        )
    if words.size != out_words(initial):
        raise EngineRunError(f"weights_out has {words.size} words, expected {out_words(initial)}")
    state = initial.copy()
    n_lanes = initial.lanes.size
    state.lanes = words[OUT_HEADER_WORDS : OUT_HEADER_WORDS + n_lanes].astype(np.uint32)
    body = words[OUT_HEADER_WORDS + n_lanes :].view("<i4").astype(np.int64)
    pos = 0
    for index, masters in enumerate(state.masters):
        n_out, n_in = masters.shape
        block = body[pos : pos + n_out * (n_in + 1)].reshape(n_out, n_in + 1)
        state.masters[index] = block[:, :n_in].copy()
        state.biases[index] = block[:, n_in].copy()
        pos += n_out * (n_in + 1)
    state.n_updates += n_updates
    return state
