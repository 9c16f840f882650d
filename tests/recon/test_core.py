"""Reconstruction core: integer path, tables, noise, uncertainty, chunking, accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mrfrecon.dictionary import build_dictionary, make_grid, match
from mrfrecon.errors import ModelMismatchError, MrfreconError
from mrfrecon.method import Method
from mrfrecon.physics import Tissue, simulate_fingerprints
from mrfrecon.physics.crb import crb_sd
from mrfrecon.recon import ReconOptions, build_table, estimate_noise, reconstruct
from tests.helpers import complex_noise


@pytest.mark.parametrize(("options", "message"), [
    pytest.param({"method": "nn"}, "unknown method 'nn'.*quantized, float, matching",
                 id="method"),
    pytest.param({"noise": "median"}, "unknown noise estimator 'median'", id="noise-name"),
    pytest.param({"noise": -0.1}, "noise sigma must be .* > 0", id="noise-negative"),
    pytest.param({"noise": 0.0}, "noise sigma must be .* > 0", id="noise-zero"),
    pytest.param({"chunk_size": 0}, "chunk_size must be >= 1", id="chunk"),
])
def test_options_are_checked_when_made(options, message):
    with pytest.raises(MrfreconError, match=message):
        ReconOptions(**options)


def test_options_take_the_method_by_value():
    assert ReconOptions(method="float").method is Method.FLOAT


def test_table_matches_exact_simulation(short_fisp, short_model):
    table = build_table(short_fisp, short_model.features.project, (100, 4000), (10, 1500),
                        shape=(64, 56), crb_shape=(16, 14))
    rng = np.random.default_rng(0)
    t1 = np.exp(rng.uniform(np.log(120), np.log(3800), 200))
    t2 = np.minimum(np.exp(rng.uniform(np.log(12), np.log(1400), 200)), t1)
    tissue = Tissue.make(t1, t2)
    exact = short_model.features.project(simulate_fingerprints(short_fisp, tissue))
    approx = table.fingerprint_coefficients(t1, t2)
    rel = np.linalg.norm(approx - exact, axis=1) / np.linalg.norm(exact, axis=1)
    assert rel.max() < 2e-3
    sd1, sd2 = table.crb_sd(t1[:20], t2[:20], 0.01, np.full(20, 0.5))
    ref1, ref2 = crb_sd(short_fisp, tissue[:20], 0.01, 0.5)
    assert_allclose(sd1, ref1, rtol=0.03)
    assert_allclose(sd2, ref2, rtol=0.06)


def _two_tissue_series(sequence, sigma, shape=(24, 24), seed=0):
    sig = simulate_fingerprints(sequence, Tissue.make([800.0, 1300.0], [60.0, 110.0]))
    data = np.zeros((*shape, 1, sequence.n_timepoints), np.complex64)
    data[3:12, 3:21, 0] = sig[0] * 0.8
    data[12:21, 3:21, 0] = sig[1] * (0.5 + 0.5j)
    data += complex_noise(np.random.default_rng(seed), data.shape, sigma)
    return data


def test_nn_maps_equal_model_predict(short_fisp, short_model):
    data = _two_tissue_series(short_fisp, 0.002)
    for method, layout in (("quantized", "C"), ("float", "C"), ("quantized", "F")):
        series = np.asfortranarray(data) if layout == "F" else data
        result = reconstruct(series, short_model, options=ReconOptions(method=method))
        mask = result.maps.mask
        t1, t2 = short_model.predict(data[mask], method=method)
        if layout == "C":  # the same arithmetic as MrfModel.predict
            assert_array_equal(result.maps.t1_ms[mask], t1)
            assert_array_equal(result.maps.t2_ms[mask], t2)
        else:  # frame-wise projection: other summation order, rare integer-rounding flips
            assert np.mean(result.maps.t1_ms[mask] == t1) > 0.97
            assert_allclose(np.median(result.maps.t1_ms[mask]), np.median(t1), rtol=1e-3)
        assert np.all(result.maps.t1_ms[~mask] == 0)


def test_chunks_and_threads_do_not_change_results(short_fisp, short_model):
    data = _two_tissue_series(short_fisp, 0.002)
    ref = reconstruct(data, short_model, options=ReconOptions(chunk_size=100000, n_threads=1))
    for chunk, threads in ((7, 2), (64, 3)):
        got = reconstruct(data, short_model, options=ReconOptions(chunk_size=chunk,
                                                                  n_threads=threads))
        for name, values in ref.maps.arrays().items():
            assert_array_equal(getattr(got.maps, name), values, err_msg=name)


def test_fortran_ordered_memmap_like_input(short_fisp, short_model):
    data = _two_tissue_series(short_fisp, 0.002)
    ref = reconstruct(data, short_model)
    got = reconstruct(np.asfortranarray(data), short_model)
    assert_array_equal(got.maps.mask, ref.maps.mask)
    assert np.mean(got.maps.t1_ms == ref.maps.t1_ms) > 0.97
    assert_allclose(got.maps.quality, ref.maps.quality, atol=1e-4)
    assert_allclose(got.noise_sigma, ref.noise_sigma, rtol=1e-4)


def test_match_recovers_truth_m0_and_quality(short_fisp, short_model):
    data = _two_tissue_series(short_fisp, 0.001)
    dictionary = build_dictionary(short_fisp, make_grid(short_fisp, "700:1400:10", "50:120:2"),
                                  rank=None, energy=None)
    result = reconstruct(data, short_model, options=ReconOptions(method="matching"),
                         dictionary=dictionary)
    maps = result.maps
    assert maps.mask.sum() == 2 * 9 * 18
    assert_allclose(np.median(maps.t1_ms[3:12, 3:21]), 800, rtol=0.015)
    assert_allclose(np.median(maps.t2_ms[12:21, 3:21]), 110, rtol=0.03)
    assert_allclose(np.median(maps.m0[12:21, 3:21].real), 0.5, rtol=0.02)
    assert_allclose(np.median(maps.m0[12:21, 3:21].imag), 0.5, rtol=0.02)
    assert np.median(maps.quality[maps.mask]) > 0.99
    assert result.at_range_limit == {"t1": 0.0, "t2": 0.0}


def test_matching_equals_dictionary_match_in_the_model_basis(short_fisp, short_model):
    """reconstruct's matching is dictionary.match with the model's SVD basis."""
    from dataclasses import replace

    data = _two_tissue_series(short_fisp, 0.003)
    dictionary = build_dictionary(short_fisp, make_grid(short_fisp, "700:1400:10", "50:120:2"),
                                  rank=None, energy=None)
    result = reconstruct(data, short_model, options=ReconOptions(method="matching"),
                         dictionary=dictionary, mask=np.ones(data.shape[:3], bool))
    ref = match(replace(dictionary, basis=short_model.features.basis), data.reshape(-1, 400))
    maps = result.maps
    assert np.mean(maps.t1_ms.reshape(-1) == ref.t1_ms) > 0.99
    assert np.mean(maps.t2_ms.reshape(-1) == ref.t2_ms) > 0.99
    same = maps.t1_ms.reshape(-1) == ref.t1_ms
    assert_allclose(maps.quality.reshape(-1)[same], ref.quality[same], atol=1e-5)
    assert_allclose(maps.m0.reshape(-1)[same], ref.m0[same], rtol=1e-4, atol=1e-6)


def test_time_point_mismatch_names_both_numbers(short_fisp, short_model):
    data = np.zeros((4, 4, 1, 399), np.complex64)
    with pytest.raises(ModelMismatchError, match=r"399.*400"):
        reconstruct(data, short_model)


@pytest.mark.parametrize("method", ["residual", "background"])
def test_noise_estimators(short_fisp, short_model, method):
    sigma = 0.004
    data = _two_tissue_series(short_fisp, sigma, shape=(32, 32))
    result = reconstruct(data, short_model, options=ReconOptions(noise=method,
                                                                 uncertainty=False))
    assert result.noise_method == method
    assert_allclose(result.noise_sigma, sigma, rtol=0.05)


def test_noise_falls_back_without_background():
    rng = np.random.default_rng(0)
    energy = rng.chisquare(800, 50) * 0.01**2
    mask = np.ones(50, bool)
    sigma, used = estimate_noise(energy, np.zeros(50), mask, 400, 10, "background")
    assert used == "residual"


def test_uncertainty_matches_spread_of_noisy_reconstructions(short_fisp, short_model):
    """sqrt(CRB) at the estimate, with sigma estimated from the data, predicts the SD of
    repeated noisy reconstructions (2304 voxels of one tissue = 2304 noise realisations)."""
    t1, t2, m0 = 900.0, 70.0, 0.9
    ref_sd1, _ = crb_sd(short_fisp, Tissue.make(t1, t2), 1.0, m0)
    sigma = float(0.025 * t1 / ref_sd1[0])  # relative T1 SD of 2.5 %
    sig = simulate_fingerprints(short_fisp, Tissue.make(t1, t2))[0]
    data = np.zeros((56, 56, 1, short_fisp.n_timepoints), np.complex64)
    data[4:52, 4:52, 0] = sig * m0 * np.exp(0.3j)
    data += complex_noise(np.random.default_rng(7), data.shape, sigma)
    dictionary = build_dictionary(short_fisp, make_grid(short_fisp, "760:1060:2", "58:84:0.4"),
                                  rank=None, energy=None)
    result = reconstruct(data, short_model, options=ReconOptions(method="matching"),
                         dictionary=dictionary)
    maps = result.maps
    inside = np.zeros(maps.mask.shape, bool)
    inside[4:52, 4:52] = True
    assert np.array_equal(maps.mask, inside)
    assert_allclose(result.noise_sigma, sigma, rtol=0.05)
    for est, sd in ((maps.t1_ms, maps.t1_sd_ms), (maps.t2_ms, maps.t2_sd_ms)):
        empirical = np.std(est[inside])
        predicted = np.median(sd[inside])
        print(f"empirical SD {empirical:.3f} ms, predicted {predicted:.3f} ms")
        assert 0.8 < empirical / predicted < 1.2, (empirical, predicted)


# --- nuisance parameters: a phantom with an off-resonance field and a B1 field ---------------


def _phantom_with_fields(sequence, *, b1_amplitude=0.0, df_amplitude_hz=0.0, noise=0.002,
                         size=24):
    from mrfrecon.phantom import brain_phantom, nuisance_fields, simulate_series

    phantom = brain_phantom(size)
    b1, df = nuisance_fields(phantom.labels.shape, b1_amplitude, df_amplitude_hz)
    data = simulate_series(sequence, phantom, noise, seed=4, b1=b1, df_hz=df)
    keep = (phantom.mask & (phantom.t1_ms < 3000))  # CSF (T1 4000 ms) is outside the grids
    return phantom, b1, df, data, keep


def test_phantom_df_field_is_mapped_with_its_crb(ma_bssfp):
    from mrfrecon.parameters import NetworkParameters
    from tests.helpers import make_model

    seq = ma_bssfp.with_timepoints(300)
    params = NetworkParameters.from_sequence(seq)
    model = make_model(seq, rank=16, parameters=params)
    phantom, _, df, data, keep = _phantom_with_fields(seq, df_amplitude_hz=25.0)
    dictionary = build_dictionary(seq, make_grid(seq, "300:1400:50", "40:120:10",
                                                 df_hz="-26:26:1"), rank=None, energy=None)
    result = reconstruct(data, model, options=ReconOptions(method="matching", noise=0.002),
                         dictionary=dictionary, mask=phantom.mask)
    maps = result.maps
    assert maps.df_hz is not None and maps.df_sd_hz is not None
    assert np.max(np.abs(maps.df_hz - df)[keep]) <= 1.0  # the 1 Hz grid
    assert np.all(maps.df_sd_hz[keep] > 0) and np.all(np.isfinite(maps.df_sd_hz[keep]))
    plain = reconstruct(data, model, options=ReconOptions(method="matching", noise=0.002),
                        dictionary=build_dictionary(seq, make_grid(seq, "300:1400:50",
                                                                   "40:120:10", df_hz="0"),
                                                    rank=None, energy=None), mask=phantom.mask)
    assert plain.maps.df_hz is None and plain.maps.df_sd_hz is None  # a df = 0 dictionary
    # networks: a df output too (the test model's weights are arbitrary: range only)
    net = reconstruct(data, model, options=ReconOptions(method="float", noise=0.002),
                      mask=phantom.mask)
    lo, hi = params.df_range_hz
    inside = net.maps.df_hz[phantom.mask]
    assert np.all((inside >= lo) & (inside <= hi)) and net.maps.df_sd_hz is not None


def test_phantom_b1_field_with_and_without_its_map(short_fisp):
    from dataclasses import replace

    from mrfrecon.parameters import NetworkParameters
    from mrfrecon.sequence import ParameterRange
    from tests.helpers import make_model

    seq = replace(short_fisp.with_timepoints(200), b1_range=ParameterRange("0.7:1.3:0.05"))
    model = make_model(seq, parameters=NetworkParameters.from_sequence(seq))
    phantom, b1, _, data, keep = _phantom_with_fields(seq, b1_amplitude=0.3)
    dictionary = build_dictionary(seq, make_grid(seq, "300:1400:20", "40:120:5"),
                                  rank=None, energy=None, n_states=60)
    options = ReconOptions(method="matching", noise=0.002)
    with_map = reconstruct(data, model, options=options, dictionary=dictionary,
                           mask=phantom.mask, b1=b1)
    without = reconstruct(data, model, options=options, dictionary=dictionary,
                          mask=phantom.mask)
    assert with_map.b1_source == "map" and without.b1_source == "assumed 1"
    assert any("B1 assumed 1" in w for w in without.warnings)
    assert not any("B1" in w for w in with_map.warnings)

    def mape(result, name):
        truth = getattr(phantom, name)[keep]
        return 100 * np.mean(np.abs(getattr(result.maps, name)[keep] - truth) / truth)

    # FISP T2 is the B1-sensitive one (T1 moves less): ~2 % with the map, ~14 % without
    assert mape(with_map, "t2_ms") < 3.0 < 3.0 * 3 < mape(without, "t2_ms")
    assert mape(with_map, "t1_ms") < mape(without, "t1_ms")
    # the CRB is evaluated at the measured B1 (not at 1) and the estimates
    from mrfrecon.physics.crb import crb_sds

    idx = np.flatnonzero((keep & (np.abs(b1 - 1) > 0.2)).ravel())[:6]
    maps = with_map.maps
    m0 = np.abs(maps.m0.ravel()[idx])
    t1, t2 = maps.t1_ms.ravel()[idx], maps.t2_ms.ravel()[idx]
    at_b1 = crb_sds(seq, Tissue.make(t1, t2, b1.ravel()[idx]), 0.002, m0)
    at_one = crb_sds(seq, Tissue.make(t1, t2), 0.002, m0)
    assert_allclose(maps.t2_sd_ms.ravel()[idx], at_b1["t2_ms"], rtol=1e-6)
    assert np.all(np.abs(at_one["t2_ms"] / at_b1["t2_ms"] - 1) > 0.05)
@pytest.fixture(scope="module")
def magnitude_model(short_fisp):
    from tests.helpers import make_model

    return make_model(short_fisp, magnitude=True)


def test_magnitude_data_use_the_magnitude_networks_and_dictionary(short_fisp, magnitude_model):
    complex_data = _two_tissue_series(short_fisp, 0.001)
    data = np.abs(complex_data).astype(np.complex64)  # what a magnitude-only reader returns
    view = magnitude_model.for_representation("magnitude")
    dictionary = build_dictionary(short_fisp, make_grid(short_fisp, "700:1400:10", "50:120:2"),
                                  rank=None, energy=None)
    matched = reconstruct(data, magnitude_model, options=ReconOptions(method="matching"),
                          dictionary=dictionary, magnitude_only=True)
    assert matched.representation == "magnitude"
    maps = matched.maps
    assert_allclose(np.median(maps.t1_ms[3:12, 3:21]), 800, rtol=0.015)
    assert_allclose(np.median(maps.t2_ms[12:21, 3:21]), 110, rtol=0.03)
    assert_allclose(np.median(maps.m0[12:21, 3:21].real), np.sqrt(0.5), rtol=0.02)  # |M0|
    assert np.median(maps.quality[maps.mask]) > 0.99
    nets = reconstruct(data, magnitude_model, magnitude_only=True, options=ReconOptions(
        uncertainty=False))
    mask = nets.maps.mask
    t1, _ = view.predict(data[mask])
    assert_array_equal(nets.maps.t1_ms[mask], t1)
    # Complex data through the magnitude view: the magnitude is taken while projecting.
    via_view = reconstruct(complex_data, view, options=ReconOptions(uncertainty=False))
    assert_array_equal(via_view.maps.t1_ms, nets.maps.t1_ms)


def test_magnitude_data_need_a_model_with_magnitude_networks(short_fisp, short_model):
    data = np.abs(_two_tissue_series(short_fisp, 0.001)).astype(np.complex64)
    with pytest.raises(ModelMismatchError, match="no magnitude networks.*retrain"):
        reconstruct(data, short_model, magnitude_only=True)
