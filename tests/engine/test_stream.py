"""The chunked sample stream (SPEC §5): order, 64-bit positions, chunked training = one run."""

import numpy as np
import pytest

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig, train_fixed
from mrfrecon.engine.api import train_chunks
from mrfrecon.engine.emu import train_emu
from mrfrecon.engine.golden import train_golden
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream, make_stream


def _stream(n=50, epochs=3, log2_batch=2, shuffle=True, seed=11):
    rng = np.random.default_rng(0)
    net = random_network(rng, widths=(6, 5, 2))
    inputs, targets = random_data(rng, n, 6, 2)
    config = FixedPointConfig(log2_batch=log2_batch, epochs=epochs, shuffle=shuffle, seed=seed)
    fmt = EngineFormat.derive(net, config)
    return net, inputs, targets, config, fmt, make_stream(net, inputs, targets, config,
                                                          fmt.target_frac)


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "file-order"])
def test_stream_order_is_the_concatenated_epochs(shuffle):
    net, inputs, _, config, _, stream = _stream(shuffle=shuffle)
    order = np.concatenate([np.random.default_rng(config.seed + e).permutation(50) if shuffle
                            else np.arange(50) for e in range(3)])[:148]
    assert stream.n_samples == 148  # 150 rounded down to batches of 4
    x, _ = stream.chunk(0, stream.n_samples)
    np.testing.assert_array_equal(x, net.quantize_input(inputs)[order])
    pieces = [c[0] for c in stream.chunks(20)]  # 20 samples = 5 batches per chunk
    assert [p.shape[0] for p in pieces] == [20] * 7 + [8]
    np.testing.assert_array_equal(np.concatenate(pieces), x)
    assert x.dtype == np.int8 and stream.chunk(0, 4)[1].dtype == np.int32


def test_chunk_sizes_round_to_whole_batches():
    *_, stream = _stream(log2_batch=3)
    assert stream.bounds(20)[:2] == [(0, 16), (16, 32)]  # 20 -> 16
    assert stream.bounds(3)[:2] == [(0, 8), (8, 16)]  # smaller than a batch -> one batch
    assert stream.bounds(10**9) == [(0, 144)]


def test_positions_beyond_32_bits_do_not_wrap():
    """10^10 samples (10^7 epochs of 1000): counts and positions are 64-bit throughout."""
    rng = np.random.default_rng(1)
    net = random_network(rng, widths=(4, 3, 2))
    inputs, targets = random_data(rng, 1000, 4, 2)
    config = FixedPointConfig(log2_batch=4, epochs=10**7, seed=3)
    fmt = EngineFormat.derive(net, config)
    stream = make_stream(net, inputs, targets, config, fmt.target_frac)
    assert stream.n_samples == 10**10 > 2**33
    start = 2**33 + 2**32 - 8  # spans an epoch boundary
    x, _ = stream.chunk(start, start + 32)
    epoch, offset = divmod(start, 1000)
    expected = np.concatenate([np.random.default_rng(3 + epoch).permutation(1000)[offset:],
                               np.random.default_rng(4 + epoch).permutation(1000)])[:32]
    np.testing.assert_array_equal(x, net.quantize_input(inputs)[expected])
    assert stream.bounds(2**32)[-1] == (2 * 2**32, 10**10)


@pytest.mark.parametrize("chunk", [4, 12, 44, 1000], ids=["1-batch", "3-batches", "11", "whole"])
def test_chunked_emu_equals_one_run_and_golden(chunk):
    net, _, _, config, fmt, stream = _stream(n=70, epochs=3)
    net_state = EngineState.from_network(net, config)
    x_all, t_all = stream.chunk(0, stream.n_samples)
    one = train_emu(net_state, fmt, config, x_all, t_all)
    golden = train_golden(net_state, fmt, config, x_all.astype(np.int64), t_all.astype(np.int64))
    calls = []
    chunked = train_chunks(lambda s, x, t, p: train_emu(s, fmt, config, x, t, p), stream,
                           net_state, chunk, lambda d, t: calls.append((d, t)))
    for a, b, c in zip(chunked.masters, one.masters, golden.masters, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    for a, b, c in zip(chunked.biases, one.biases, golden.biases, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(chunked.lanes, one.lanes)
    np.testing.assert_array_equal(chunked.lanes, golden.lanes)
    assert chunked.n_updates == one.n_updates == stream.n_samples // 4
    assert calls[-1] == (stream.n_samples, stream.n_samples)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))


def test_train_fixed_result_does_not_depend_on_the_chunk_size():
    rng = np.random.default_rng(8)
    net = random_network(rng)
    inputs, targets = random_data(rng, 300)
    config = FixedPointConfig(epochs=2)
    a = train_fixed(net, inputs, targets, config, "emu", chunk_samples=48)
    b = train_fixed(net, inputs, targets, config, "emu")
    for la, lb in zip(a.state.masters, b.state.masters, strict=True):
        np.testing.assert_array_equal(la, lb)
    np.testing.assert_array_equal(a.state.lanes, b.state.lanes)
    assert a.n_samples == b.n_samples == 592 and a.mse_after == b.mse_after


def test_build_stream_keeps_its_contract():
    net, inputs, targets, config, fmt, stream = _stream()
    x, t = build_stream(net, inputs, targets, config, fmt.target_frac)
    assert x.dtype == np.int64 and t.dtype == np.int64 and x.shape == (148, 6)
    np.testing.assert_array_equal(x, stream.chunk(0, 148)[0])
