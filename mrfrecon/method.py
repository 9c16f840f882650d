"""The estimation methods, one vocabulary for the CLI, JSON results, sidecars and the report.

``quantized``: the integer network (the datapath the FPGA runs, bit-exact); ``float``: the
float network; ``matching``: dictionary matching (Ma et al. 2013, doi:10.1038/nature11971).
"""

from __future__ import annotations

from enum import StrEnum


class Method(StrEnum):
    """How T1 and T2 are estimated from a fingerprint; the value is the published name."""

    QUANTIZED = "quantized"
    FLOAT = "float"
    MATCHING = "matching"

    @property
    def description(self) -> str:
        """One line for humans and for the BIDS ``EstimationAlgorithm`` field."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Method.QUANTIZED: "MRF quantized neural network (integer datapath)",
    Method.FLOAT: "MRF neural network (float)",
    Method.MATCHING: "MRF dictionary matching (SVD-compressed)",
}

#: The network methods (those a model file can run without a dictionary).
NETWORK_METHODS = (Method.QUANTIZED, Method.FLOAT)
