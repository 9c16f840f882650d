"""Interface v2 buffers (SPEC §8.2-§8.4) built and decoded by ``mrfrecon.engine.kernel``."""

import numpy as np
import pytest

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig
from mrfrecon.engine import kernel as k
from mrfrecon.engine.emu import train_emu
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream
from mrfrecon.errors import EngineRunError
from tests.engine.fake_pyxrt import kernel_model


def _setup(widths=(16, 16, 16, 2), n=64, config=None):
    rng = np.random.default_rng(2)
    net = random_network(rng, widths=widths)
    config = config or FixedPointConfig(seed=0xC0FFEE)
    fmt = EngineFormat.derive(net, config)
    x, t = build_stream(net, *random_data(rng, n, widths[0], widths[-1]), config, fmt.target_frac)
    return EngineState.from_network(net, config), fmt, config, x, t


def test_header_words_of_the_default_network():
    state, fmt, config, x, t = _setup()
    words = np.frombuffer(k.build_job(state, fmt, config, x, t).buffers["weights_in"], "<u4")
    lf = fmt.layers
    assert words[:10].tolist() == [0x3246524D, 0, 3, 0xC0FFEE, 4, fmt.e, 16, 8, 16, 32]
    assert words[16:25].tolist() == [16, 16, 16, 2, 0, 0, 0, 0, 0]
    assert words[32:44].tolist() == [v for f in lf for v in (f.q, f.bp, f.s_w, f.s_b)]
    assert not words[10:16].any() and not words[25:32].any() and not words[44:64].any()
    np.testing.assert_array_equal(words[64:80], state.lanes)
    body = words[80:].view("<i4")
    assert body.size == 16 * 17 + 16 * 17 + 2 * 17
    assert body[:16].tolist() == state.masters[0][0].tolist() and body[16] == state.biases[0][0]
    assert b"MRF2" == words[:1].tobytes()


def test_samples_layout_pads_inputs_to_words():
    x = np.array([[1, -2, 3, -4, 5], [-128, 127, 0, 0, 1]], dtype=np.int8)
    t = np.array([[70000, -1], [2**31 - 1, -(2**31)]], dtype=np.int32)
    data = k.pack_samples(x, t)
    assert len(data) == k.samples_bytes(5, 2, 2) == 64, "padded to a whole 512-bit beat"
    assert not any(data[32:]), "the padding is zeros"
    words = np.frombuffer(data[:32], "<u4").reshape(2, k.sample_words(5, 2))
    assert words.shape == (2, 4)
    assert words[0, :2].tobytes() == bytes([1, 0xFE, 3, 0xFC, 5, 0, 0, 0])
    assert words[1, 2:].view("<i4").tolist() == [2**31 - 1, -(2**31)]


def test_load_rng_flag_and_carried_generators():
    state, fmt, config, x, t = _setup()
    assert k.header_words(state, fmt, config)[k.H_FLAGS] == 0  # fresh: the kernel seeds
    half = x.shape[0] // 2
    first = train_emu(state, fmt, config, x[:half], t[:half])
    assert k.header_words(first, fmt, config)[k.H_FLAGS] == k.FLAG_LOAD_RNG
    job = k.build_job(first, fmt, config, x[half:], t[half:])
    out = kernel_model(job.buffers["samples"], job.buffers["weights_in"], job.n_samples)
    second = k.decode_weights(out, first, config, job.n_samples // config.batch)
    whole = train_emu(state, fmt, config, x, t)
    for a, b in zip(second.masters, whole.masters, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(second.lanes, whole.lanes)
    assert second.n_updates == whole.n_updates


def test_zero_samples_copy_the_state_through():
    state, fmt, config, x, t = _setup()
    job = k.build_job(state, fmt, config, x[:0], t[:0])
    assert job.register_writes({"samples": 0, "weights_in": 0, "weights_out": 0})[-3:] == [
        (0x34, 0), (0x3C, 0), (0x00, 1)]
    same = k.decode_weights(kernel_model(b"", job.buffers["weights_in"], 0),
                            state, config, 0)
    for a, b in zip(same.masters, state.masters, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(same.lanes, state.lanes)


def test_64_bit_sample_count_in_two_registers():
    job = k.KernelJob(buffers={}, n_samples=250_000_000 * 20, widths=(16, 2))
    writes = dict(job.register_writes({"samples": 1 << 36, "weights_in": 0, "weights_out": 0}))
    assert writes[0x34] | writes[0x3C] << 32 == 5_000_000_000 and writes[0x3C] == 1
    assert writes[0x10] == 0 and writes[0x14] == 16


@pytest.mark.parametrize(
    ("words", "match"),
    [({0: 1}, r"status 1 \(bad magic"), ({0: 3}, r"status 3 \(n_samples is not a multiple"),
     ({0: 9}, r"status 9 \(unknown"), ({2: 15}, "trained 15 samples, expected 16")],
    ids=["magic", "partial-batch", "unknown", "short-run"],
)
def test_decode_refuses_failed_runs(words, match):
    state, fmt, config, x, t = _setup()
    data = np.zeros(k.out_words(state), dtype="<u4")
    data[2] = 16
    for index, value in words.items():
        data[index] = value
    with pytest.raises(EngineRunError, match=match):
        k.decode_weights(data.tobytes(), state, config, 1)


def test_decode_refuses_a_truncated_buffer():
    state, _, config, _, _ = _setup()
    data = np.zeros(k.out_words(state), dtype="<u4")
    data[2] = 16
    with pytest.raises(EngineRunError, match=f"has {data.size - 1} words, expected {data.size}"):
        k.decode_weights(data[:-1].tobytes(), state, config, 1)


def test_job_checks_batches_and_buffer_size():
    state, fmt, config, x, t = _setup()
    with pytest.raises(ValueError, match="not a multiple of the batch"):
        k.build_job(state, fmt, config, x[:15], t[:15])
    with pytest.raises(ValueError, match="samples buffer"):
        k.build_job_packed(state, fmt, config, b"\0" * 8, 16)
