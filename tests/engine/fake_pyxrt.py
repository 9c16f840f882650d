"""A stand-in for XRT's ``pyxrt`` with a software model of the ``mrf_train`` kernel.

The model reads its buffers as ``hw/SPEC.md`` §8 describes them, word positions written out here
independently of ``mrfrecon.engine.kernel``, and trains with the bit-exact emulator. Buffer
objects keep a host and a device copy, so a missing ``sync`` shows up as a wrong result. Every
call is recorded in ``calls`` for the call-sequence tests.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable

import numpy as np

from mrfrecon.engine.arith import lane_seeds
from mrfrecon.engine.config import EngineFormat, FixedPointConfig, LayerFormat
from mrfrecon.engine.emu import train_emu
from mrfrecon.engine.state import EngineState

MAGIC_V2 = 0x3246524D


class ErtCmdState(enum.Enum):
    ERT_CMD_STATE_NEW = 1
    ERT_CMD_STATE_QUEUED = 2
    ERT_CMD_STATE_RUNNING = 3
    ERT_CMD_STATE_COMPLETED = 4
    ERT_CMD_STATE_ERROR = 5
    ERT_CMD_STATE_ABORT = 6
    ERT_CMD_STATE_TIMEOUT = 10


def kernel_model(samples: bytes, weights_in: bytes, n_samples: int, train: bool = True) -> bytes:
    """``weights_out`` of one run, from SPEC §8.2-§8.4 (the status checks of §8.4 included)."""
    words = np.frombuffer(weights_in, dtype="<u4")
    out_status = np.zeros(4, dtype="<u4")
    if words[0] != MAGIC_V2:
        out_status[0] = 1
        return out_status.tobytes()
    n_layers, seed, log2_batch, e, n_lanes = (int(words[k]) for k in (2, 3, 4, 5, 6))
    widths = [int(w) for w in words[16 : 16 + n_layers + 1]]
    if (max(widths[1:]) != n_lanes or any(words[16 + n_layers + 1 : 25])
            or (int(words[7]), int(words[8]), int(words[9])) != (8, 16, 32)):
        out_status[0] = 2
        return out_status.tobytes()
    if n_samples % (1 << log2_batch):
        out_status[0] = 3
        return out_status.tobytes()
    config = FixedPointConfig(log2_batch=log2_batch, seed=seed)
    layers = tuple(LayerFormat(*(int(v) for v in words[32 + 4 * k : 36 + 4 * k]))
                   for k in range(n_layers))
    fmt = EngineFormat(layers=layers, e=e, target_frac=0)
    lanes = (words[64 : 64 + n_lanes].astype(np.uint32) if words[1] & 1
             else lane_seeds(seed, n_lanes))
    body = words[64 + n_lanes :].view("<i4").astype(np.int64)
    masters, biases, pos = [], [], 0
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        block = body[pos : pos + n_out * (n_in + 1)].reshape(n_out, n_in + 1)
        masters.append(block[:, :n_in].copy())
        biases.append(block[:, n_in].copy())
        pos += n_out * (n_in + 1)
    assert pos == body.size, "body size does not follow from the widths"
    state = EngineState(masters, biases, lanes)
    if train and n_samples:
        n_packed = 4 * ((widths[0] + 3) // 4)
        stride = n_packed + 4 * widths[-1]
        rows = np.frombuffer(samples, dtype=np.uint8)[: n_samples * stride].reshape(n_samples,
                                                                                    stride)
        x = rows[:, : widths[0]].view(np.int8).astype(np.int64)
        t = np.ascontiguousarray(rows[:, n_packed:]).view("<i4").astype(np.int64)
        state = train_emu(state, fmt, config, x, t)
    out_status[2], out_status[3] = n_samples & 0xFFFFFFFF, n_samples >> 32
    return (out_status.tobytes() + state.lanes.astype("<u4").tobytes()
            + np.concatenate([np.concatenate([m, b[:, None]], axis=1).ravel()
                              for m, b in zip(state.masters, state.biases, strict=True)]
                             ).astype("<i4").tobytes())


def make_fake_pyxrt(
    n_devices: int = 1,
    with_hw_context: bool = True,
    final_state: str = "ERT_CMD_STATE_COMPLETED",
    on_wait: Callable[[int], None] | None = None,
    train: bool = True,
) -> types.ModuleType:
    """A fresh fake ``pyxrt`` module; ``module.calls`` lists ``(name, details)`` in call order.

    final_state: what ``run.wait()`` returns; on_wait(run_index) runs inside ``wait`` (before the
    model executes), to check what the host does meanwhile; train=False: the model copies the
    state through (for memory tests that need no arithmetic).
    """
    mod = types.ModuleType("pyxrt")
    calls: list[tuple[str, object]] = []
    mod.calls = calls
    mod.weights_in_log = []  # every weights_in written (group 1), for header checks
    mod.ert_cmd_state = ErtCmdState
    mod.xclBOSyncDirection = types.SimpleNamespace(XCL_BO_SYNC_BO_TO_DEVICE="to_device",
                                                   XCL_BO_SYNC_BO_FROM_DEVICE="from_device")
    mod.xrt_info_device = types.SimpleNamespace(name="name")
    next_address = [0x4_0000_0000]  # above 4 GiB: the high address words matter

    class Xclbin:
        def __init__(self, path: str) -> None:
            calls.append(("xclbin", path))
            self.path = path

        def get_uuid(self) -> str:
            return f"uuid:{self.path}"

    class Device:
        def __init__(self, index: int) -> None:
            if index >= n_devices:
                raise RuntimeError(f"no device {index}")
            calls.append(("device", index))
            self.registered: list[str] = []

        def get_info(self, key: str) -> str:
            return "xilinx_u250_gen3x16_xdma_shell_4_1"

        def register_xclbin(self, xclbin: Xclbin) -> None:
            calls.append(("register_xclbin", xclbin.path))
            self.registered.append(xclbin.get_uuid())

        def load_xclbin(self, xclbin: Xclbin) -> str:
            calls.append(("load_xclbin", xclbin.path))
            return xclbin.get_uuid()

    class HwContext:
        def __init__(self, device: Device, uuid: str) -> None:
            if uuid not in device.registered:
                raise RuntimeError("hw_context: xclbin not registered with the device")
            calls.append(("hw_context", uuid))

    class Bo:
        normal = "normal"

        def __init__(self, device: Device, size: int, flags: str, group: int) -> None:
            self.size, self.group = size, group
            self.host = bytearray(size)
            self.device = bytearray(size)
            self._address = next_address[0]
            next_address[0] += -(-size // 4096) * 4096 + 4096
            calls.append(("bo", (size, group)))

        def write(self, data: bytes, offset: int) -> None:
            self.host[offset : offset + len(data)] = data
            calls.append(("write", (self.group, len(data))))
            if self.group == 1:
                mod.weights_in_log.append(bytes(data))

        def read(self, size: int, offset: int) -> bytes:
            calls.append(("read", (self.group, size)))
            return bytes(self.host[offset : offset + size])

        def sync(self, direction: str, size: int, offset: int) -> None:
            calls.append(("sync", (self.group, direction, size)))
            if direction == "to_device":
                self.device[offset : offset + size] = self.host[offset : offset + size]
            else:
                self.host[offset : offset + size] = self.device[offset : offset + size]

        def address(self) -> int:
            return self._address

    class Run:
        def __init__(self, index: int, args: tuple) -> None:
            self.index, self.args = index, args

        def wait(self, timeout_ms: int = 0) -> ErtCmdState:
            calls.append(("wait", (self.index, timeout_ms)))
            if on_wait is not None:
                on_wait(self.index)
            samples, w_in, w_out, lo, hi = self.args
            n = (lo & 0xFFFFFFFF) | (hi & 0xFFFFFFFF) << 32
            data = kernel_model(bytes(samples.device), bytes(w_in.device), n, train)
            w_out.device[: len(data)] = data
            return ErtCmdState[final_state]

        def abort(self) -> None:
            calls.append(("abort", self.index))

    class Kernel:
        shared = "shared"

        def __init__(self, *args: object) -> None:
            calls.append(("kernel", args[-2] if len(args) == 4 else args[-1]))
            self.runs = 0

        def group_id(self, index: int) -> int:
            return index

        def __call__(self, *args: object) -> Run:
            for value in args[3:]:
                assert isinstance(value, int) and -(2**31) <= value < 2**31, value
            calls.append(("start", tuple(a if isinstance(a, int) else ("bo", a.group)
                                         for a in args)))
            self.runs += 1
            return Run(self.runs - 1, args)

    mod.device, mod.xclbin, mod.bo, mod.kernel = Device, Xclbin, Bo, Kernel
    if with_hw_context:
        mod.hw_context = HwContext
    return mod
