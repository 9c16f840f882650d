"""Reading MRF schedules from Pulseq files written here with pypulseq."""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pp = pytest.importorskip("pypulseq")

from mrfrecon.errors import MissingDependencyError, SequenceError  # noqa: E402
from mrfrecon.physics import Tissue, simulate_fingerprints  # noqa: E402
from mrfrecon.sequence import load_sequence  # noqa: E402
from mrfrecon.sequence.pulseq import read_pulseq  # noqa: E402

SYSTEM = pp.Opts(max_grad=32, grad_unit="mT/m", max_slew=130, slew_unit="T/m/s")
SLICE_M = 5e-3
N_READ = 64
FOV_M = 0.25
RF_DUR_S = 2e-3  # symmetric sinc / block pulse: centre at RF_DUR_S / 2 after rf.delay
BLOCK_RASTER_S = SYSTEM.block_duration_raster


@dataclass
class Written:
    """What a test wrote, in the units the reader reports."""

    path: Path
    fa_deg: np.ndarray
    phase_deg: np.ndarray
    tr_ms: np.ndarray
    te_ms: float
    ti_ms: float | None


def schedule(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flip angles (deg) with one 0° TR, RF phases (deg), TRs (ms, on the block raster)."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    fa = 5.0 + 55.0 * np.sin(np.pi * i / n) + rng.uniform(-2, 2, n)
    fa[n // 2] = 0.0
    phase = np.round(rng.uniform(0, 360, n), 2)
    tr = np.round(rng.uniform(11.0, 14.0, n), 2)
    return fa, phase, tr


def _round_up(t_s: float) -> float:
    return math.ceil(round(t_s / BLOCK_RASTER_S, 6)) * BLOCK_RASTER_S


def write_mrf(path: Path, *args, **kwargs) -> Written:
    """:func:`_write_mrf` with pypulseq's warnings off (a 0° pulse divides by zero)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _write_mrf(path, *args, **kwargs)


def _write_mrf(
    path: Path,
    fa_deg: np.ndarray,
    phase_deg: np.ndarray,
    tr_ms: np.ndarray,
    *,
    balanced: bool = False,
    ti_ms: float | None = 20.0,
    inversion_deg: float = 180.0,
    use: str = "excitation",
    inversion_use: str = "inversion",
    adc_phase_deg: np.ndarray | None = None,
    drop_adc: tuple[int, ...] = (),
    definitions: dict[str, str] | None = None,
) -> Written:
    """A 2D MRF sequence: [inversion + spoiler + TI delay], then per TR a slice-selective sinc
    excitation, slice rephaser + read prephaser, readout with ADC, then either an unbalanced
    spoiler (FISP) or read rewinder + slice prephaser (balanced), and a delay to the TR."""
    seq = pp.Sequence(system=SYSTEM)
    gx = pp.make_trapezoid("x", flat_area=N_READ / FOV_M, flat_time=3.2e-3, system=SYSTEM)
    adc = pp.make_adc(N_READ, duration=gx.flat_time, delay=gx.rise_time, system=SYSTEM)
    gx_pre = pp.make_trapezoid("x", area=-gx.area / 2, duration=1e-3, system=SYSTEM)
    gx_post = pp.make_trapezoid("x", area=-gx.area / 2, duration=1e-3, system=SYSTEM)
    spoil = pp.make_trapezoid("z", area=4 / SLICE_M, duration=1.5e-3, system=SYSTEM)

    def excitation(fa: float, phase: float):
        rf, gz, _ = pp.make_sinc_pulse(
            math.radians(fa),
            duration=RF_DUR_S,
            slice_thickness=SLICE_M,
            apodization=0.5,
            time_bw_product=4,
            phase_offset=math.radians(phase),
            system=SYSTEM,
            return_gz=True,
            use=use,
        )
        return rf, gz

    rf0, gz0 = excitation(10.0, 0.0)
    gz_re = pp.make_trapezoid("z", area=-gz0.area / 2, duration=1e-3, system=SYSTEM)
    rf_centre_in_block = rf0.delay + RF_DUR_S / 2
    exc_block = pp.calc_duration(rf0, gz0)
    te_ms = 1e3 * (
        exc_block
        - rf_centre_in_block
        + pp.calc_duration(gz_re, gx_pre)
        + adc.delay
        + N_READ * adc.dwell / 2
    )

    if ti_ms is not None:
        inv = pp.make_block_pulse(
            math.radians(inversion_deg), duration=1e-3, system=SYSTEM, use=inversion_use
        )
        inv_spoil = pp.make_trapezoid("z", area=8 / SLICE_M, duration=3e-3, system=SYSTEM)
        seq.add_block(inv)
        seq.add_block(inv_spoil)
        gap = (
            ti_ms * 1e-3
            - (pp.calc_duration(inv) - inv.delay - 0.5e-3)
            - pp.calc_duration(inv_spoil)
            - rf_centre_in_block
        )
        seq.add_block(pp.make_delay(round(gap / BLOCK_RASTER_S) * BLOCK_RASTER_S))

    for k, (fa, phase, tr) in enumerate(zip(fa_deg, phase_deg, tr_ms, strict=True)):
        rf, gz = excitation(fa, phase)
        adc_k = pp.make_adc(
            N_READ,
            duration=gx.flat_time,
            delay=gx.rise_time,
            system=SYSTEM,
            phase_offset=math.radians(phase if adc_phase_deg is None else adc_phase_deg[k]),
        )
        seq.add_block(rf, gz)
        seq.add_block(gz_re, gx_pre)
        if k in drop_adc:
            seq.add_block(gx)
        else:
            seq.add_block(gx, adc_k)
        if balanced:
            seq.add_block(gx_post, gz_re)
            tail = pp.calc_duration(gx_post, gz_re)
        else:
            seq.add_block(spoil)
            tail = pp.calc_duration(spoil)
        used = exc_block + pp.calc_duration(gz_re, gx_pre) + pp.calc_duration(gx) + tail
        fill = tr * 1e-3 - used
        assert fill > 0, "TR too short for the test sequence"
        seq.add_block(pp.make_delay(round(fill / BLOCK_RASTER_S) * BLOCK_RASTER_S))
    for key, value in (definitions or {}).items():
        seq.set_definition(key, value)
    ok, errors = seq.check_timing()
    assert ok, errors[:3]
    seq.write(str(path))
    return Written(
        path,
        np.asarray(fa_deg, float),
        np.mod(phase_deg, 360.0),
        np.asarray(tr_ms, float),
        te_ms,
        ti_ms,
    )


@pytest.fixture(scope="module")
def fisp(tmp_path_factory) -> Written:
    fa, phase, tr = schedule(60)
    path = tmp_path_factory.mktemp("pulseq") / "fisp_mrf.seq"
    return write_mrf(
        path, fa, phase, tr, definitions={"Name": "fisp_test", "Description": "test FISP-MRF"}
    )


@pytest.fixture(scope="module")
def bssfp(tmp_path_factory) -> Written:
    n = 40
    fa, _, tr = schedule(n, seed=5)
    phase = np.resize([0.0, 180.0], n)
    path = tmp_path_factory.mktemp("pulseq") / "bssfp_mrf.seq"
    return write_mrf(path, fa, phase, tr, balanced=True, ti_ms=None)


# --------------------------------------------------------------------------------------------
# Round trips


def test_fisp_schedule_round_trips(fisp: Written) -> None:
    seq = load_sequence(fisp.path)
    assert seq.kind == "fisp"
    assert seq.n_timepoints == 60
    np.testing.assert_allclose(seq.fa_deg, fisp.fa_deg, atol=0.1)
    assert seq.fa_deg[30] == pytest.approx(0.0, abs=1e-6)
    # The 0° TR carries no envelope phase; every other phase is the RF phase offset.
    phase_err = np.mod(seq.phase_deg - fisp.phase_deg + 180.0, 360.0) - 180.0
    np.testing.assert_allclose(phase_err, 0.0, atol=2e-3)
    np.testing.assert_allclose(seq.tr_ms[:-1], fisp.tr_ms[:-1], atol=1e-6)
    np.testing.assert_allclose(seq.te_ms, fisp.te_ms, atol=1e-6)
    assert seq.inversion is not None
    assert seq.inversion.ti_ms == pytest.approx(fisp.ti_ms, abs=1e-6)
    assert seq.inversion.efficiency == 1.0
    assert seq.name == "fisp_test"
    assert seq.description == "test FISP-MRF"
    assert seq.source == str(fisp.path)


def test_last_tr_runs_to_the_end_of_the_sequence(fisp: Written) -> None:
    seq = read_pulseq(fisp.path)
    # The writer pads every TR, the last one included, to its nominal length: the last TR is
    # the spacing the next RF centre would have.
    assert seq.tr_ms[-1] == pytest.approx(fisp.tr_ms[-1], abs=1e-6)


def test_simulator_accepts_the_schedule(fisp: Written) -> None:
    seq = read_pulseq(fisp.path)
    sig = simulate_fingerprints(seq, Tissue.make([800.0], [80.0]))
    assert sig.shape == (1, seq.n_timepoints)
    assert np.all(np.isfinite(sig))
    # The 0° TR after the inversion's recovery still reads a (non-zero) transverse signal.
    assert np.abs(sig[0]).max() > 0.01


def test_balanced_sequence_is_bssfp(bssfp: Written) -> None:
    seq = load_sequence(bssfp.path)
    assert seq.kind == "bssfp"
    assert seq.inversion is None
    assert seq.name == "bssfp_mrf"  # no Name definition: the file stem
    np.testing.assert_allclose(seq.fa_deg, bssfp.fa_deg, atol=0.1)
    # 0/180° cycling stays exactly real-valued despite 6-digit radians in the file.
    assert seq.is_real_valued
    np.testing.assert_array_equal(seq.phase_deg[1:6:2], 180.0)
    np.testing.assert_allclose(seq.tr_ms[:-1], bssfp.tr_ms[:-1], atol=1e-6)
    sig = simulate_fingerprints(seq, Tissue.make([800.0], [80.0]))
    assert sig.shape == (1, 40)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        pytest.param("fisp", "fisp", id="MrfKind-fisp"),
        pytest.param("BSSFP", "bssfp", id="MrfKind-bssfp"),
    ],
)
def test_kind_definition_overrides_detection(
    tmp_path: Path, definition: str, expected: str
) -> None:
    fa, phase, tr = schedule(8)
    phase = np.zeros(8)
    written = write_mrf(
        tmp_path / "k.seq",
        fa,
        phase,
        tr,
        balanced=True,
        ti_ms=None,
        definitions={"MrfKind": definition},
    )
    assert read_pulseq(written.path).kind == expected


def test_undefined_use_inversion_is_detected_with_cosine_efficiency(tmp_path: Path) -> None:
    fa, phase, tr = schedule(10)
    written = write_mrf(
        tmp_path / "u.seq",
        fa,
        phase,
        tr,
        use="undefined",
        ti_ms=15.0,
        inversion_deg=160.0,
        inversion_use="undefined",
    )
    seq = read_pulseq(written.path)
    assert seq.n_timepoints == 10
    assert seq.inversion is not None
    assert seq.inversion.ti_ms == pytest.approx(15.0, abs=1e-6)
    assert seq.inversion.efficiency == pytest.approx(-math.cos(math.radians(160.0)), abs=1e-4)


def test_constant_receiver_phase_offset_is_accepted(tmp_path: Path) -> None:
    fa, phase, tr = schedule(6)
    written = write_mrf(tmp_path / "c.seq", fa, phase, tr, ti_ms=None, adc_phase_deg=phase + 90.0)
    seq = read_pulseq(written.path)
    np.testing.assert_allclose(seq.phase_deg, np.mod(phase, 360.0), atol=2e-3)


def test_reading_is_silent(fisp: Written, tmp_path: Path, capsys) -> None:
    # Without BlockDurationRaster pypulseq warns (an error under our pytest settings).
    text = fisp.path.read_text().replace("BlockDurationRaster 1e-05 \n", "")
    assert "BlockDurationRaster" not in text
    path = tmp_path / "noraster.seq"
    path.write_text(text)
    seq = read_pulseq(path)
    assert seq.n_timepoints == 60
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(b"hello world\nfoo bar\n", "cannot read Pulseq file", id="text"),
        pytest.param(b"", "not a Pulseq file", id="empty"),
        pytest.param(bytes(range(256)) * 4, "not a Pulseq file: it is binary", id="binary"),
        pytest.param(
            b"[VERSION]\nmajor 1\nminor 5\nrevision 0\n[BLOCKS]\n1 10 0 0 0 0 0 0\n",
            "cannot read Pulseq file",
            id="bad-blocks",
        ),
    ],
)
def test_garbage_is_a_sequence_error(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.seq"
    path.write_bytes(content)
    with pytest.raises(SequenceError, match=match) as info:
        load_sequence(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_truncated_file_fails_quickly(fisp: Written, tmp_path: Path) -> None:
    # pypulseq alone loops forever on a file that ends inside [SHAPES].
    data = fisp.path.read_bytes()
    path = tmp_path / "truncated.seq"
    path.write_bytes(data[: data.index(b"[SHAPES]") + 2000])
    with pytest.raises(SequenceError, match="cannot read Pulseq file .*truncated"):
        read_pulseq(path)


def test_sequence_without_adc_is_refused(tmp_path: Path) -> None:
    seq = pp.Sequence(system=SYSTEM)
    for fa in (10.0, 20.0, 30.0):
        seq.add_block(
            pp.make_block_pulse(math.radians(fa), duration=0.5e-3, system=SYSTEM, use="excitation")
        )
        seq.add_block(pp.make_delay(10e-3))
    path = tmp_path / "noadc.seq"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seq.write(str(path))
    with pytest.raises(SequenceError, match="no excitation with an ADC readout found .*no ADC"):
        load_sequence(path)


def test_excitation_without_readout_is_refused(tmp_path: Path) -> None:
    fa, phase, tr = schedule(6)
    written = write_mrf(tmp_path / "dummy.seq", fa, phase, tr, ti_ms=None, drop_adc=(2,))
    with pytest.raises(SequenceError, match=r"block \d+ .* has no ADC before the next RF pulse"):
        read_pulseq(written.path)


def test_receiver_not_following_rf_phase_is_refused(tmp_path: Path) -> None:
    fa, _, tr = schedule(6)
    phase = np.resize([0.0, 180.0], 6)
    written = write_mrf(tmp_path / "adc.seq", fa, phase, tr, ti_ms=None, adc_phase_deg=np.zeros(6))
    with pytest.raises(
        SequenceError,
        match=r"ADC phase \(0.000°\) does not follow the RF phase "
        r"\(180.000°\) at TR 2",
    ):
        read_pulseq(written.path)


def test_unknown_kind_definition_is_refused(tmp_path: Path) -> None:
    fa, phase, tr = schedule(4)
    written = write_mrf(
        tmp_path / "kind.seq", fa, phase, tr, ti_ms=None, definitions={"MrfKind": "flash"}
    )
    with pytest.raises(SequenceError, match="definition MrfKind 'flash'.*fisp, bssfp"):
        read_pulseq(written.path)


def test_missing_pypulseq_names_the_package(fisp: Written, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pypulseq", None)
    with pytest.raises(MissingDependencyError, match="pip install pypulseq"):
        read_pulseq(fisp.path)


def test_unsupported_rf_use_is_refused(tmp_path: Path) -> None:
    fa, phase, tr = schedule(4)
    written = write_mrf(tmp_path / "sat.seq", fa, phase, tr, inversion_use="saturation")
    with pytest.raises(SequenceError, match="has use 'saturation', which mrfrecon cannot simulate"):
        read_pulseq(written.path)


def test_unlabelled_adiabatic_inversion_has_full_efficiency(tmp_path: Path) -> None:
    seq = pp.Sequence(system=SYSTEM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inv = pp.make_adiabatic_pulse("hypsec", duration=10e-3, system=SYSTEM)
        inv.use = "undefined"
        seq.add_block(inv)
        seq.add_block(pp.make_delay(5e-3))
        for _ in range(3):
            seq.add_block(pp.make_block_pulse(math.radians(10), duration=0.5e-3, system=SYSTEM))
            seq.add_block(pp.make_adc(64, dwell=1e-5, system=SYSTEM))
            seq.add_block(pp.make_delay(5e-3))
        seq.write(str(tmp_path / "adiabatic.seq"))
    out = read_pulseq(tmp_path / "adiabatic.seq")
    assert out.inversion is not None and out.inversion.efficiency == 1.0
    # hypsec centre (5 ms) to the block pulse centre (5 ms delay + 0.25 ms).
    assert out.inversion.ti_ms == pytest.approx(10.25, abs=0.01)
    np.testing.assert_allclose(out.fa_deg, 10.0, atol=0.01)
