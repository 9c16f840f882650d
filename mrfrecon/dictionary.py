"""MRF dictionaries: parameter grid, simulation, HDF5 storage, SVD compression, matching.

Matching picks, for each measured fingerprint, the atom with the largest normalised inner product
(Ma et al. 2013, doi:10.1038/nature11971); the SVD compression projects atoms and data onto the
first K right singular vectors (McGivney et al., IEEE TMI 2014;33:2311,
doi:10.1109/TMI.2014.2337321), which keeps the inner products while cutting the work by n_t/K.

HDF5 layout: datasets ``atoms`` (complex64, ``[n_atoms, n_timepoints]``), ``t1_ms``, ``t2_ms``
(float64, ``[n_atoms]``), ``b1`` and ``df_hz`` when the grid spans them; with compression also
``basis`` (complex64, ``[n_timepoints, rank]``) and ``singular_values``; attributes
``sequence_sha256``, ``sequence_json``, ``mrfrecon_version``, ``n_states``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import numpy as np
from threadpoolctl import threadpool_limits

from . import __version__
from .atomic import atomic_write
from .errors import DictionaryError, ModelMismatchError
from .limits import check_count, check_hdf5_layout, check_memory, check_regular_file
from .physics import Tissue, simulate_fingerprints
from .physics.epg import DEFAULT_N_STATES
from .sequence import Sequence, parse_ranges

ProgressFn = Callable[[int, int], None]
DEFAULT_ENERGY = 0.99999


def make_grid(
    sequence: Sequence,
    t1_ms: str | None = None,
    t2_ms: str | None = None,
    b1: str | None = None,
    df_hz: str | None = None,
) -> Tissue:
    """The dictionary grid: every (T1, T2[, B1, df]) with T2 <= T1.

    Ranges are ``START:STOP:STEP`` strings (STOP included, comma-separated pieces); defaults come
    from the sequence (its ``dictionary`` grid, its B1 and off-resonance ranges).
    """
    t1 = parse_ranges(t1_ms or sequence.t1_grid_ms, "t1_ms")
    t2 = parse_ranges(t2_ms or sequence.t2_grid_ms, "t2_ms")
    if np.any(t1 <= 0) or np.any(t2 <= 0):
        raise DictionaryError("T1 and T2 grid values must be > 0 ms")
    b1_values = (
        parse_ranges(b1, "b1")
        if b1
        else sequence.b1_range.values()
        if sequence.b1_range
        else np.array([1.0])
    )
    df_values = (
        parse_ranges(df_hz, "df_hz")
        if df_hz
        else sequence.df_range_hz.values()
        if sequence.df_range_hz
        else np.array([0.0])
    )
    check_count(len(t1) * len(t2) * len(b1_values) * len(df_values), "max_atoms",
                "dictionary grid (T1 x T2 x B1 x df)")
    g1, g2, gb, gd = np.meshgrid(t1, t2, b1_values, df_values, indexing="ij")
    keep = g2 <= g1
    if not keep.any():
        raise DictionaryError("the grid has no entry with T2 <= T1")
    return Tissue.make(g1[keep], g2[keep], gb[keep], gd[keep])


@dataclass(frozen=True)
class Dictionary:
    """Simulated fingerprints and their parameters.

    atoms: complex64, shape ``(n_atoms, n_timepoints)`` (M0 = 1 units).
    tissue: the parameters of each atom (T1/T2 in ms, B1, df in Hz).
    basis: optional SVD basis, complex64, shape ``(n_timepoints, rank)``, orthonormal columns.
    """

    atoms: np.ndarray
    tissue: Tissue
    sequence_sha256: str
    sequence_json: str = ""
    n_states: int = DEFAULT_N_STATES
    basis: np.ndarray | None = None
    singular_values: np.ndarray | None = None

    @property
    def n_atoms(self) -> int:
        return int(self.atoms.shape[0])

    @property
    def n_timepoints(self) -> int:
        return int(self.atoms.shape[1])

    @property
    def rank(self) -> int | None:
        return None if self.basis is None else int(self.basis.shape[1])

    @property
    def has_b1(self) -> bool:
        return bool(np.any(self.tissue.b1 != 1.0))

    @property
    def has_df(self) -> bool:
        return bool(np.any(self.tissue.df_hz != 0.0))


def check_simulation_size(sequence: Sequence, n_atoms: int, n_states: int) -> None:
    """Refuse, before simulating, more atoms, EPG states or memory than the limits allow."""
    if n_states < 1:
        raise DictionaryError(f"the number of EPG states must be >= 1, got {n_states}")
    check_count(n_states, "max_states", "EPG states")
    check_count(n_atoms, "max_atoms", "dictionary atoms")
    # atoms (complex64 and a complex128 working copy) and the SVD's copy
    check_memory(n_atoms * sequence.n_timepoints * 8 * 4, f"a dictionary of {n_atoms:,} atoms x "
                 f"{sequence.n_timepoints:,} time points")


def build_dictionary(
    sequence: Sequence,
    tissue: Tissue | None = None,
    *,
    n_states: int = DEFAULT_N_STATES,
    rank: int | None = None,
    energy: float | None = DEFAULT_ENERGY,
    progress: ProgressFn | None = None,
) -> Dictionary:
    """Simulate the dictionary of ``sequence`` on ``tissue`` (default: the sequence's grid).

    With ``rank`` (or ``energy``, the retained fraction of the squared singular values) the SVD
    basis is computed and stored; ``rank=None, energy=None`` skips compression.
    """
    tissue = tissue if tissue is not None else make_grid(sequence)
    check_simulation_size(sequence, len(tissue.t1_ms), n_states)
    atoms = simulate_fingerprints(sequence, tissue, n_states=n_states, progress=progress)
    dictionary = Dictionary(
        atoms=atoms.astype(np.complex64),
        tissue=tissue,
        sequence_sha256=sequence.sha256,
        sequence_json=json.dumps(sequence.to_full_dict()),
        n_states=n_states,
    )
    if rank is not None or energy is not None:
        dictionary = compress(dictionary, rank=rank, energy=energy or DEFAULT_ENERGY)
    return dictionary


def svd_basis(
    atoms: np.ndarray,
    rank: int | None = None,
    energy: float = DEFAULT_ENERGY,
    chunk_size: int = 8192,
) -> tuple[np.ndarray, np.ndarray]:
    """Right singular vectors of ``atoms`` (``(n_atoms, n_t)``) via the ``n_t x n_t`` Gram matrix.

    Returns ``(basis, singular_values)``: basis complex64 ``(n_t, rank)``, orthonormal columns;
    the rank is ``rank`` or the smallest one keeping ``energy`` of the squared singular values.
    """
    eigval, eigvec = _gram_eigen(atoms, chunk_size)
    if rank is None:
        if not 0 < energy <= 1:
            raise DictionaryError(f"energy must be in (0, 1], got {energy}")
        cumulative = np.cumsum(eigval) / max(eigval.sum(), 1e-300)
        rank = int(np.searchsorted(cumulative, energy) + 1)
    return _truncate(eigval, eigvec, rank)


@dataclass(frozen=True)
class RankChoice:
    """How :func:`rank_for_noise` chose a rank (energies per atom, M0 = 1 units).

    discarded_energy: mean squared norm per atom outside the kept basis.
    noise_energy: ``2 sigma^2``, the noise energy of one complex coefficient.
    capped: True when even ``max_rank`` discards more than the noise energy.
    """

    rank: int
    noise_sd: float
    discarded_energy: float
    noise_energy: float
    max_rank: int
    capped: bool

    def to_dict(self) -> dict[str, float | int | bool | str]:
        return {"rule": RANK_RULE, **vars(self)}


RANK_RULE = "smallest K whose discarded energy per atom <= 2 noise_sd^2 (one coefficient's noise)"


def rank_for_noise(
    energy_per_atom: np.ndarray, noise_sd: float, max_rank: int, total: float | None = None
) -> RankChoice:
    """The SVD rank the noise level can see.

    energy_per_atom: the largest eigenvalues of the Gram matrix divided by the number of atoms,
    descending, shape ``(m,)``: the mean squared coefficient of an atom along each singular
    vector; total: their full sum (the atoms' mean squared norm; default: the sum given).
    Rule: the smallest K whose discarded energy per atom (``total`` minus the first K) is at
    most the noise energy of a single complex coefficient, ``2 noise_sd**2``: everything left
    out together is then below what noise puts into one kept coefficient, so no further
    coefficient would carry information the noise lets through. Capped at ``max_rank``.
    """
    if noise_sd <= 0:
        raise DictionaryError(f"noise_sd must be > 0, got {noise_sd}")
    energy = np.clip(np.asarray(energy_per_atom, np.float64), 0, None)
    total = float(energy.sum()) if total is None else float(total)
    max_rank = int(min(max_rank, energy.size))
    if max_rank < 1:
        raise DictionaryError(f"max_rank must be >= 1, got {max_rank}")
    # discarded[k - 1]: energy outside the first k singular vectors, k = 1..max_rank
    discarded = np.clip(total - np.cumsum(energy[:max_rank]), 0, None)
    noise_energy = 2.0 * noise_sd**2
    fits = np.flatnonzero(discarded <= noise_energy)
    rank = int(fits[0] + 1) if fits.size else max_rank
    return RankChoice(rank, float(noise_sd), float(discarded[rank - 1]), noise_energy, max_rank,
                      capped=not fits.size)


def svd_basis_for_noise(
    atoms: np.ndarray, noise_sd: float, max_rank: int, chunk_size: int = 8192
) -> tuple[np.ndarray, np.ndarray, RankChoice]:
    """:func:`svd_basis` with the rank of :func:`rank_for_noise`; also returns the choice.

    Only the ``max_rank`` largest eigenpairs are computed (LAPACK ``evr`` subset, ~5x faster
    than the full ``eigh`` at n_t = 1000); the discarded energy is the trace minus them.
    """
    from scipy.linalg import eigh

    gram = _gram(atoms, chunk_size, np.complex64)
    n_t = gram.shape[0]
    top = int(min(max_rank, n_t))
    with threadpool_limits(limits=1, user_api="blas"):  # see _gram_eigen
        eigval, eigvec = eigh(gram, subset_by_index=[n_t - top, n_t - 1], driver="evr")
    eigval, eigvec = np.clip(eigval[::-1], 0, None), eigvec[:, ::-1]
    n_atoms = atoms.shape[0]
    choice = rank_for_noise(eigval / n_atoms, noise_sd, max_rank,
                            total=float(np.real(np.trace(gram))) / n_atoms)  # fmt: skip
    return (*_truncate(eigval, eigvec, choice.rank), choice)


def _gram(atoms: np.ndarray, chunk_size: int, product=np.complex128) -> np.ndarray:
    """``atoms^H atoms`` (complex128 ``(n_t, n_t)``), summed over chunks whose products are
    computed in ``product`` precision (complex64: half the time; the rank rule needs ~1e-5)."""
    n_t = atoms.shape[1]
    gram = np.zeros((n_t, n_t), np.complex128)
    for start in range(0, atoms.shape[0], chunk_size):
        block = np.asarray(atoms[start : start + chunk_size], product)
        gram += block.conj().T @ block
    return gram


def _gram_eigen(atoms: np.ndarray, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, >= 0) and eigenvectors of ``atoms^H atoms``."""
    gram = _gram(atoms, chunk_size)
    # One LAPACK thread: multi-threaded OpenBLAS eigh slows down 30x when another process
    # shares the cores (seen on 2-core workstations); single-threaded it takes ~1 s at n_t = 1000.
    with threadpool_limits(limits=1, user_api="blas"):
        eigval, eigvec = np.linalg.eigh(gram)
    order = np.argsort(eigval)[::-1]
    return np.clip(eigval[order], 0, None), eigvec[:, order]


def _truncate(eigval: np.ndarray, eigvec: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    n_t = eigvec.shape[0]
    if not 1 <= rank <= n_t:
        raise DictionaryError(f"rank must be in [1, {n_t}], got {rank}")
    return eigvec[:, :rank].astype(np.complex64), np.sqrt(eigval[:rank])


def compress(
    dictionary: Dictionary, rank: int | None = None, energy: float = DEFAULT_ENERGY
) -> Dictionary:
    """The same dictionary with an SVD basis of ``rank`` (or ``energy``) attached."""
    basis, sv = svd_basis(dictionary.atoms, rank=rank, energy=energy)
    return replace(dictionary, basis=basis, singular_values=sv)


# --------------------------------------------------------------------------------------------
# Storage


def save_dictionary(dictionary: Dictionary, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the dictionary as HDF5, atomically; an existing file needs ``overwrite``."""

    def write(fh) -> None:
        with h5py.File(fh, "w") as f:
            f.create_dataset("atoms", data=dictionary.atoms.astype(np.complex64))
            f.create_dataset("t1_ms", data=dictionary.tissue.t1_ms)
            f.create_dataset("t2_ms", data=dictionary.tissue.t2_ms)
            if dictionary.has_b1:
                f.create_dataset("b1", data=dictionary.tissue.b1)
            if dictionary.has_df:
                f.create_dataset("df_hz", data=dictionary.tissue.df_hz)
            if dictionary.basis is not None:
                f.create_dataset("basis", data=dictionary.basis)
                f.create_dataset("singular_values", data=dictionary.singular_values)
            f.attrs["sequence_sha256"] = dictionary.sequence_sha256
            f.attrs["sequence_json"] = dictionary.sequence_json
            f.attrs["mrfrecon_version"] = __version__
            f.attrs["n_states"] = dictionary.n_states
            f["t1_ms"].attrs["units"] = "ms"
            f["t2_ms"].attrs["units"] = "ms"

    return atomic_write(path, write, overwrite=overwrite)


def load_dictionary(path: str | Path) -> Dictionary:
    """Read a dictionary written by :func:`save_dictionary` (clear errors if it is not one)."""
    path = Path(path)
    if not path.exists():
        raise DictionaryError(f"dictionary file not found: '{path}'")
    check_regular_file(path, "dictionary file")
    try:
        with h5py.File(path, "r") as f:
            check_hdf5_layout(f, path, DictionaryError)
            for name in ("atoms", "t1_ms", "t2_ms"):
                if name not in f:
                    raise DictionaryError(f"'{path}' is not an mrfrecon dictionary: no '{name}'")
            atoms = f["atoms"][()]
            n = atoms.shape[0]
            t1, t2 = f["t1_ms"][()], f["t2_ms"][()]
            b1 = f["b1"][()] if "b1" in f else np.ones(n)
            df = f["df_hz"][()] if "df_hz" in f else np.zeros(n)
            basis = f["basis"][()] if "basis" in f else None
            sv = f["singular_values"][()] if "singular_values" in f else None
            attrs = dict(f.attrs)
    except OSError as err:
        raise DictionaryError(f"cannot read dictionary '{path}': {err}") from None
    except (AttributeError, IndexError, TypeError, ValueError) as err:
        raise DictionaryError(f"'{path}' is malformed: {err}") from None
    if (atoms.ndim != 2 or t1.shape != (atoms.shape[0],) or t2.shape != t1.shape
            or np.shape(b1) != t1.shape or np.shape(df) != t1.shape):
        raise DictionaryError(f"'{path}': atoms, t1_ms, t2_ms, b1 and df_hz have inconsistent "
                              "shapes")
    if not all(np.all(np.isfinite(a)) for a in (atoms, t1, t2, b1, df)):
        raise DictionaryError(f"'{path}': atoms or parameters are not finite")
    return Dictionary(
        atoms=atoms,
        tissue=Tissue(t1, t2, b1, df),
        sequence_sha256=str(attrs.get("sequence_sha256", "")),
        sequence_json=str(attrs.get("sequence_json", "")),
        n_states=int(attrs.get("n_states", DEFAULT_N_STATES)),
        basis=basis,
        singular_values=sv,
    )


# --------------------------------------------------------------------------------------------
# Matching


@dataclass(frozen=True)
class MatchResult:
    """Per-signal estimates, each of shape ``(n_signals,)``.

    t1_ms, t2_ms: ms; b1: flip-angle scale; df_hz: Hz; m0: complex scale (signal ~ m0 * atom);
    quality: normalised inner product |<d, s>| / (|d| |s|) in [0, 1]; index: matched atom.
    """

    t1_ms: np.ndarray
    t2_ms: np.ndarray
    b1: np.ndarray
    df_hz: np.ndarray
    m0: np.ndarray
    quality: np.ndarray
    index: np.ndarray


@dataclass(frozen=True)
class MatchAtoms:
    """Atoms made ready for matching in one coefficient space (time points, or an SVD basis).

    unit_conj: complex64 ``(n_coef, n_atoms)``, conjugates of the unit-norm atoms.
    norm: float32 ``(n_atoms,)``, the atoms' norms (1 for a zero atom); tissue: their parameters.
    """

    unit_conj: np.ndarray
    norm: np.ndarray
    tissue: Tissue

    @classmethod
    def from_atoms(cls, atoms: np.ndarray, tissue: Tissue) -> MatchAtoms:
        """``atoms``: complex ``(n_atoms, n_coef)``, already in the space signals will be in."""
        norm = np.linalg.norm(atoms, axis=1).astype(np.float32)
        norm[norm == 0] = 1.0
        return cls((atoms / norm[:, None]).conj().T.astype(np.complex64), norm, tissue)

    def match_block(
        self, block: np.ndarray, b1: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best atom for each row of ``block`` (complex ``(n, n_coef)``).

        b1: measured B1 scale per row, ``(n,)``: each row is matched only within the atoms of
        the dictionary's B1 value nearest to it (its B1 slice); ``None`` matches all atoms.
        Returns ``(index, m0, quality)``: int64, complex64 (signal ~ m0 * atom) and float32
        normalised inner products in [0, 1], each ``(n,)``. Memory: ``n x n_atoms``.
        """
        n = block.shape[0]
        if b1 is None:
            ip = block @ self.unit_conj  # (n, n_atoms)
            best = np.argmax(ip.real**2 + ip.imag**2, axis=1)
            best_ip = ip[np.arange(n), best]
        else:
            values, slice_of_atom = np.unique(self.tissue.b1, return_inverse=True)
            nearest = np.argmin(np.abs(np.asarray(b1, np.float64)[:, None] - values), axis=1)
            best = np.zeros(n, np.int64)
            best_ip = np.zeros(n, np.complex64)
            for k in np.unique(nearest):
                rows = np.flatnonzero(nearest == k)
                atoms = np.flatnonzero(slice_of_atom == k)
                ip = block[rows] @ self.unit_conj[:, atoms]
                local = np.argmax(ip.real**2 + ip.imag**2, axis=1)
                best[rows] = atoms[local]
                best_ip[rows] = ip[np.arange(rows.size), local]
        norm = np.linalg.norm(block, axis=1)
        quality = np.abs(best_ip) / np.where(norm > 0, norm, 1)
        return best, (best_ip / self.norm[best]).astype(np.complex64), quality.astype(np.float32)


def match(
    dictionary: Dictionary,
    signals: np.ndarray,
    *,
    compressed: bool = True,
    chunk_size: int = 4096,
    b1: np.ndarray | None = None,
    progress: ProgressFn | None = None,
) -> MatchResult:
    """Match fingerprints (complex, ``(n_signals, n_timepoints)``) to the dictionary.

    ``compressed`` uses the SVD basis when the dictionary has one (else the full atoms).
    ``b1``: measured B1 per signal, ``(n_signals,)``: match within the nearest B1 slice of a
    dictionary that spans B1 (see :meth:`MatchAtoms.match_block`).
    Memory is bounded by ``chunk_size x n_atoms``.
    """
    signals = np.asarray(signals)
    if signals.ndim != 2 or signals.shape[1] != dictionary.n_timepoints:
        raise ModelMismatchError(
            f"signals have {signals.shape[-1]} time points but the dictionary has "
            f"{dictionary.n_timepoints}"
        )
    basis = dictionary.basis if compressed else None
    atoms = MatchAtoms.from_atoms(
        dictionary.atoms @ basis if basis is not None else dictionary.atoms, dictionary.tissue
    )
    n = signals.shape[0]
    index = np.empty(n, np.int64)
    m0 = np.empty(n, np.complex64)
    quality = np.empty(n, np.float32)
    for start in range(0, n, chunk_size):
        block = signals[start : start + chunk_size].astype(np.complex64)
        if basis is not None:
            block = block @ basis
        stop = start + block.shape[0]
        rows_b1 = None if b1 is None or not dictionary.has_b1 else b1[start:stop]
        index[start:stop], m0[start:stop], quality[start:stop] = atoms.match_block(block, rows_b1)
        if progress is not None:
            progress(min(start + chunk_size, n), n)
    t = dictionary.tissue
    return MatchResult(
        t.t1_ms[index], t.t2_ms[index], t.b1[index], t.df_hz[index], m0, quality, index
    )
