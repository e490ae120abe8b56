"""Reports: the runs of the laboratory gathered into one self-contained HTML page (claims table, then figures)."""

from neurones.report.build import REPORT_FILE, build_report
from neurones.report.html import format_measurement, render_report, summary_line

__all__ = ["REPORT_FILE", "build_report", "format_measurement", "render_report", "summary_line"]
