"""Quality control of reconstructed maps: summaries, truth maps, the HTML report."""

from .metrics import REFERENCE_TABLE, MapSummary, Stats, read_truth_map, summarize
from .report import write_report

__all__ = ["REFERENCE_TABLE", "MapSummary", "Stats", "read_truth_map", "summarize",
           "write_report"]
