"""Reconstruction of quantitative maps from MRF series (see :mod:`mrfrecon.recon.core`)."""

from .core import METHODS, ReconOptions, ReconResult, estimate_noise, reconstruct
from .pipeline import MapsResult, run_maps, run_maps_each
from .table import SignalTable, build_table, cached_table

__all__ = ["METHODS", "MapsResult", "ReconOptions", "ReconResult", "SignalTable", "build_table",
           "cached_table", "estimate_noise", "reconstruct", "run_maps",
           "run_maps_each"]
