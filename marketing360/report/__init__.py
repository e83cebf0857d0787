"""The self-contained HTML report of the demo: sections of tables and figures in one file."""

from .builder import Report, Section
from .sections import SECTIONS, build_report

__all__ = ["Report", "Section", "SECTIONS", "build_report"]
