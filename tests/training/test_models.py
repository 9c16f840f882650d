"""The learning core: brevitas <-> integer path bit for bit, model files, determinism, export."""

from __future__ import annotations

import warnings
from dataclasses import replace

import h5py
import numpy as np
import pytest
import torch

from mrfrecon.errors import ModelError, ModelMismatchError
from mrfrecon.model import load_model, save_model
from mrfrecon.sequence import Sequence
from mrfrecon.training import RetrainConfig, retrain
from mrfrecon.training.models import (
    FloatMLP,
    QuantMLP,
    float_weights,
    standardising_map,
    to_integer,
)


@pytest.mark.parametrize("widths", [(16, 16), (8, 12, 6)], ids=["fpga", "three_hidden"])
def test_integer_path_is_bit_exact_with_brevitas(widths):
    torch.manual_seed(0)
    net = QuantMLP(16, widths, n_out=2)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    x_train = torch.randn(4096, 16) * 1.5
    for start in range(0, 4096, 128):  # enough steps for the activation statistics to settle
        loss = (net(x_train[start : start + 128]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    int_net = to_integer(net, x_train[:256])
    assert int_net.input_frac == 5  # the fixed input scale the features are fitted to
    x = torch.randn(5000, 16) * 3.0  # includes inputs beyond the int8 range: saturation
    x[:16] = torch.tensor(np.linspace(-20, 20, 16, dtype=np.float32))[:, None]
    with torch.no_grad():
        y_brevitas = net(x).numpy().astype(np.float64)
    acc, frac = int_net.forward_int(int_net.quantize_input(x.numpy()))
    np.testing.assert_array_equal(y_brevitas * 2.0**frac, acc.astype(np.float64))
    assert np.any(np.abs(int_net.quantize_input(x.numpy())) == 127)  # saturation exercised


def test_the_float_networks_input_map_is_folded_into_the_stored_weights():
    """Trained on standardised inputs, stored (and handed to QAT) as a network on the
    features themselves: the same function either way."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 6, generator=g) * torch.tensor([0.1, 1, 5, 0.01, 2, 0.0]) + 2.0
    net = FloatMLP(6, (8, 8), 2, *standardising_map(x))
    z = net.input_scale * x + net.input_shift
    np.testing.assert_allclose(z.mean(0).numpy()[:5], 0, atol=1e-4)
    np.testing.assert_allclose(z.std(0).numpy()[:5], 1, atol=1e-4)
    # a constant input (the phase-free first imaginary part) is left alone: no huge weights
    assert net.input_scale[5] == 1 and net.input_shift[5] == 0
    weights = float_weights(net)
    h = x.numpy().astype(np.float64)
    for i, (w, b) in enumerate(zip(weights.weights, weights.biases, strict=True)):
        h = h @ w.T.astype(np.float64) + b
        h = np.maximum(h, 0) if i < len(weights.weights) - 1 else h
    with torch.no_grad():
        np.testing.assert_allclose(h, net(x).numpy(), rtol=1e-4, atol=1e-4)
    quant = QuantMLP(6, (8, 8), 2)
    quant.load_float(net)
    np.testing.assert_allclose(quant.linears[0].weight.detach().numpy(), weights.weights[0])


def test_silu_float_networks_are_stored_and_evaluated_as_trained(tiny_model, tmp_path):
    """A SiLU float network (bSSFP's kind setting) gives the torch network's outputs through
    numpy inference and through a model file; files without the activation hold ReLU ones."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, 6, generator=g) * 2
    net = FloatMLP(6, (16, 16), 3, *standardising_map(x), activation="silu")
    weights = float_weights(net)
    assert weights.activation == "silu"
    with torch.no_grad():
        expected = net(x).numpy()
    np.testing.assert_allclose(weights.forward(x.numpy()), expected, rtol=1e-5, atol=1e-5)
    relu = replace(weights, activation="relu")
    assert not np.allclose(relu.forward(x.numpy()), expected, atol=1e-3)  # it matters
    with pytest.raises(ValueError, match="activation 'tanh'"):
        replace(weights, activation="tanh")
    with pytest.raises(ValueError, match="ReLU"):
        QuantMLP(6, (16, 16), 3).load_float(net)

    n_in = tiny_model.float_net.widths[0]
    silu = FloatMLP(n_in, (8,), tiny_model.float_net.widths[-1], activation="silu")
    model = replace(tiny_model, float_net=float_weights(silu))
    again = load_model(save_model(model, tmp_path / "silu.h5"))
    assert again.float_net.activation == "silu"
    assert again.for_representation("magnitude").float_net.activation == "relu"
    features = np.random.default_rng(0).standard_normal((10, n_in)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(again.float_net.forward(features),
                                   silu(torch.tensor(features)).numpy(), rtol=1e-5, atol=1e-5)
    with h5py.File(tmp_path / "silu.h5") as f:
        assert "float/activation" in f and "magnitude/float/activation" not in f


def test_model_round_trip_and_predictions(tiny_model, tiny_model_path, short_fisp):
    again = load_model(tiny_model_path)
    rng = np.random.default_rng(0)
    from mrfrecon.physics import Tissue, simulate_fingerprints

    signals = simulate_fingerprints(
        short_fisp, Tissue.make(rng.uniform(300, 2000, 50), rng.uniform(30, 200, 50))
    )
    for method in ("quantized", "float"):
        a = tiny_model.predict(signals, method)
        b = again.predict(signals, method)
        np.testing.assert_array_equal(a[0], b[0])
        a = tiny_model.for_representation("magnitude").predict(np.abs(signals), method)
        b = again.for_representation("magnitude").predict(np.abs(signals), method)
        np.testing.assert_array_equal(a[1], b[1])
    assert again.representations == ("complex", "magnitude")
    with h5py.File(tiny_model_path) as f:
        assert f["quantized/layer0/weight"].dtype == np.int8
        assert f["magnitude/quantized/layer0/weight"].dtype == np.int8
        assert f["magnitude/features/basis"].dtype == np.float32
        assert f["quantized/layer0/bias"].dtype == np.int32
        assert f.attrs["sequence_sha256"] == short_fisp.sha256
    assert again.metrics["validation"]["quantized"]["t1"]["mape"] > 0
    # the SVD rank and the rule that chose it travel with the model; the inputs follow it
    svd = again.metrics["svd"]
    assert svd["rank"] == again.features.rank and svd["rule"].startswith("smallest K")
    assert svd["discarded_energy"] <= svd["noise_energy"] or svd["capped"]
    assert again.int_net.widths[0] == again.float_net.widths[0] == 2 * svd["rank"]
    assert isinstance(again.sequence, Sequence)  # parsed once, in load_model
    assert again.sequence.sha256 == again.sequence_sha256 == short_fisp.sha256


def test_model_files_without_magnitude_networks(tiny_model, tmp_path):
    """Files from before magnitude support load; magnitude input asks for a retrain."""
    old = load_model(save_model(replace(tiny_model, magnitude=None), tmp_path / "old.h5"))
    assert old.magnitude is None and old.representations == ("complex",)
    assert old.for_representation("complex") is old
    with pytest.raises(ModelMismatchError, match="no magnitude networks.*retrain"):
        old.for_representation("magnitude")
    with pytest.raises(ValueError, match="view"):
        save_model(tiny_model.for_representation("magnitude"), tmp_path / "view.h5")


def test_magnitude_networks_are_trained_and_validated(tiny_model):
    view = tiny_model.for_representation("magnitude")
    assert view.features.n_features == tiny_model.features.n_features  # same FPGA input width
    assert view.int_net.widths == tiny_model.int_net.widths
    mape = tiny_model.metrics["validation_magnitude"]["quantized"]["t1"]["mape"]
    assert 0 < mape < 100


def test_model_refuses_mismatched_data(tiny_model):
    with pytest.raises(
        ModelMismatchError, match="data has 399 time points but the model's sequence has 400"
    ):
        tiny_model.predict(np.zeros((3, 399), np.complex64))
    with pytest.raises(ModelMismatchError, match="was trained for"):
        tiny_model.check_signals(np.zeros((1, 400)), sequence_sha256="0" * 64)


def test_corrupted_or_foreign_files_are_refused(tiny_model_path, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(tiny_model_path.read_bytes())
    with h5py.File(bad, "r+") as f:
        w = f["quantized/layer0/weight"][()]
        w[0, 0] = w[0, 0] + 1 if w[0, 0] < 127 else 0
        f["quantized/layer0/weight"][...] = w
    with pytest.raises(ModelError, match="corrupted"):
        load_model(bad)
    with h5py.File(bad, "r+") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ModelError, match="format version 99"):
        load_model(bad)
    (tmp_path / "x.h5").write_text("not hdf5")
    with pytest.raises(ModelError, match="cannot read model file"):
        load_model(tmp_path / "x.h5")
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f["a"] = 1
    with pytest.raises(ModelError, match="not an mrfrecon model"):
        load_model(tmp_path / "y.h5")


def test_retrain_is_deterministic_with_a_seed(short_fisp, tmp_path):
    """Same seed, same weights; the magnitude path the same in its own process as inline."""
    config = RetrainConfig(
        n_train=2000, n_val=500, seconds=None, max_epochs=(2, 2, 1), patience=100, seed=3
    )
    assert config.parallel_paths
    first = retrain(short_fisp, config).model
    second = retrain(short_fisp, replace(config, parallel_paths=False)).model
    np.testing.assert_array_equal(first.features.basis, second.features.basis)
    for a, b in zip(first.int_net.layers, second.int_net.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
    for a, b in zip(first.float_net.weights, second.float_net.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first.magnitude.int_net.layers, second.magnitude.int_net.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
    for a, b in zip(first.magnitude.float_net.weights, second.magnitude.float_net.weights,
                    strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.magnitude.features.basis, second.magnitude.features.basis)
    other = retrain(short_fisp, replace(config, seed=4, representations=("complex",))).model
    assert not np.array_equal(other.int_net.layers[0].weight, first.int_net.layers[0].weight)


def test_qonnx_export_runs_bit_exact(tiny_model, tmp_path):
    qonnx = pytest.importorskip("qonnx.core.onnx_exec")
    from qonnx.core.modelwrapper import ModelWrapper

    from mrfrecon.training.export import export_qonnx

    path = export_qonnx(tiny_model, tmp_path / "net.onnx")
    x = (np.random.default_rng(0).standard_normal((64, tiny_model.features.n_features)) * 2).astype(
        np.float32
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from qonnx.transformation.infer_shapes import InferShapes

        wrapper = ModelWrapper(str(path))
        wrapper.set_tensor_shape("features", list(x.shape))
        wrapper = wrapper.transform(InferShapes())
        out = qonnx.execute_onnx(wrapper, {"features": x})["targets"]
    acc, frac = tiny_model.int_net.forward_int(tiny_model.int_net.quantize_input(x))
    np.testing.assert_allclose(
        out, acc * 2.0**-frac, rtol=0, atol=1e-6 * np.abs(acc * 2.0**-frac).max()
    )


@pytest.mark.parametrize("name", ["bssfp_ma2013", "fisp_short400_b1"], ids=["df", "b1"])
def test_nuisance_parameters_threaded_through_training_and_files(name, tmp_path):
    """Networks output df (bSSFP with a df range) or take B1 (a sequence with a B1 range);
    the descriptor survives the model file and changes what the networks see."""
    from mrfrecon.model import save_model
    from mrfrecon.parameters import NetworkParameters
    from mrfrecon.sequence import load_sequence, resolve_sequence_path

    sequence = load_sequence(resolve_sequence_path(name)).with_timepoints(200)
    config = RetrainConfig(n_train=1500, n_val=300, seconds=None, max_epochs=(2, 2, 1),
                           patience=100, seed=3, rank=6, n_states=40)
    result = retrain(sequence, config)
    params = NetworkParameters.from_sequence(sequence)
    model = load_model(save_model(result.model, tmp_path / "m.h5"))
    assert model.parameters == params == result.model.parameters
    assert result.summary["outputs"] == list(params.outputs)
    assert model.float_net.widths[0] == model.int_net.widths[0] == 12 + params.n_extra_inputs
    assert model.float_net.widths[-1] == model.int_net.widths[-1] == params.n_outputs
    x = np.random.default_rng(0).standard_normal((20, 12)).astype(np.float32)
    for method in ("float", "quantized"):
        est = model.estimate_features(x, method)
        assert (est.df_hz is not None) == params.estimates_df
        if params.estimates_df:
            lo, hi = params.df_range_hz
            assert np.all((est.df_hz >= lo) & (est.df_hz <= hi))
            assert "df_hz" in result.summary["validation"][method]
        if params.takes_b1:  # B1 is an input the networks use
            low = model.estimate_features(x, method, b1=np.full(20, 0.7))
            assert not np.array_equal(low.t1_ms, est.t1_ms)


def _evaluate_trained(name: str, seconds: float, **evaluate_options):
    from mrfrecon.evaluate import evaluate
    from mrfrecon.sequence import load_sequence, resolve_sequence_path

    config = RetrainConfig(n_train=30000, n_val=3000, seconds=seconds, seed=1)
    model = retrain(load_sequence(resolve_sequence_path(name)), config).model
    return model, evaluate(model, noise=0.01, n=1000, methods=("float", "quantized"),
                           **evaluate_options).to_dict()


@pytest.mark.slow
def test_b1_map_keeps_t1_t2_accuracy():
    """Goal (issue 12): with a +-30 % B1 field and its map given to the networks, T1/T2 MAPE
    within 1.2x of the B1 = 1 case (measured with the default 50 s training: 1.04-1.11x)."""
    model, drawn = _evaluate_trained("fisp_short400_b1", 30.0)
    from mrfrecon.evaluate import evaluate

    nominal = evaluate(model, noise=0.01, n=1000, methods=("float", "quantized"),
                       b1=1.0).to_dict()
    assert drawn["b1_range"][0] < 0.72 and drawn["b1_range"][1] > 1.28
    for method in ("float", "quantized"):
        for name in ("t1", "t2"):
            ratio = drawn["methods"][method][name]["mape"] / nominal["methods"][method][name]["mape"]
            assert ratio <= 1.2, (method, name, ratio)


# RMSE / sqrt(CRB) of T1, T2, df after the shortened run below (measured + ~25 %).
BSSFP_MAX_OVER_CRB = {"float": (2.6, 6.6, 4.9), "quantized": (8.5, 18.8, 9.2)}


@pytest.mark.slow
def test_bssfp_networks_estimate_t1_t2_and_df_near_the_crb():
    """bSSFP (``bssfp_ma2013``, its kind's 256-256-256 SiLU float network, a shortened
    epoch-bound run, ~25 s CPU): RMSE / sqrt(CRB) of T1, T2 and df (the CRB with df unknown)
    of the float and quantised networks. Bounds: what this run gives (float 2.09/5.25/3.88 with
    T2's loss weighted 8x, quantised 6.80/15.0/7.38 at n = 1500; its short QAT stage is far
    from the default's) plus ~25 %; the default run reaches far lower (README)."""
    from mrfrecon.evaluate import evaluate
    from mrfrecon.sequence import load_sequence, resolve_sequence_path

    config = RetrainConfig(n_train=20000, n_val=2000, max_epochs=(50, 10, 5), seed=1,
                           representations=("complex",))
    model = retrain(load_sequence(resolve_sequence_path("bssfp_ma2013")), config).model
    assert model.float_net.widths[1:-1] == (256, 256, 256)
    assert model.float_net.activation == "silu"
    result = evaluate(model, noise=0.01, n=1500, methods=("float", "quantized")).to_dict()
    for method, bounds in BSSFP_MAX_OVER_CRB.items():
        for name, bound in zip(("t1", "t2", "df_hz"), bounds, strict=True):
            ratio = result["methods"][method][name]["rmse_over_crb"]
            assert 0.5 < ratio <= bound, (method, name, ratio)
        assert abs(result["methods"][method]["df_hz"]["bias"]) < 0.5, method
