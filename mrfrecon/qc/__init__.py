"""Quality control of reconstructed maps: summaries, errors against truth, the HTML report."""

from .metrics import REFERENCE_TABLE, error_metrics, read_truth_map, summarize
from .report import write_report

__all__ = ["REFERENCE_TABLE", "error_metrics", "read_truth_map", "summarize", "write_report"]
