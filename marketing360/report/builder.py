"""A tiny HTML report builder: tables and matplotlib figures embedded in one file."""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Report", "Section"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2733;line-height:1.45}
h1{font-size:1.8rem;margin-bottom:.2rem} h2{border-bottom:2px solid #e3e8ee;padding-bottom:.3rem;margin-top:2.2rem}
.meta{color:#5b6b7c;font-size:.9rem} table{border-collapse:collapse;margin:.8rem 0;font-size:.88rem}
th,td{border:1px solid #dfe5ec;padding:.25rem .6rem;text-align:right} th{background:#f3f6f9}
td:first-child,th:first-child{text-align:left} img{max-width:100%;margin:.6rem 0}
p.note{color:#3d4b5a} nav a{margin-right:1rem}
"""


@dataclass
class Section:
    """One section of a report: a title and a list of HTML blocks."""

    title: str
    blocks: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")

    def text(self, text: str) -> "Section":
        self.blocks.append(f"<p class='note'>{html.escape(text)}</p>")
        return self

    def table(self, df: pd.DataFrame, *, caption: str | None = None, floatfmt: str = "{:,.2f}",
              max_rows: int = 50) -> "Section":
        shown = df.head(max_rows)
        fmt = {c: floatfmt.format for c in shown.columns if pd.api.types.is_float_dtype(shown[c])}
        body = shown.to_html(index=False, border=0, formatters=fmt, na_rep="")
        cap = f"<p class='meta'>{html.escape(caption)}</p>" if caption else ""
        more = f"<p class='meta'>first {max_rows} of {len(df):,} rows</p>" if len(df) > max_rows else ""
        self.blocks.append(cap + body + more)
        return self

    def figure(self, fig: Any, *, alt: str = "figure") -> "Section":
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        self.blocks.append(f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'/>")
        return self


class Report:
    """An HTML report made of sections, written atomically to one self-contained file.

    Examples
    --------
    >>> r = Report("demo")
    >>> _ = r.section("Numbers").text("hello")
    >>> "<h2 id='numbers'>Numbers</h2>" in r.to_html()
    True
    """

    def __init__(self, title: str, *, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []

    def section(self, title: str) -> Section:
        s = Section(title)
        self.sections.append(s)
        return s

    def to_html(self) -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        nav = " ".join(f"<a href='#{s.anchor}'>{html.escape(s.title)}</a>" for s in self.sections)
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                 f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
                 f"<p class='meta'>{html.escape(self.subtitle)} &middot; generated {stamp}</p><nav>{nav}</nav>"]
        for s in self.sections:
            parts.append(f"<h2 id='{s.anchor}'>{html.escape(s.title)}</h2>")
            parts.extend(s.blocks)
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, path: str | Path) -> Path:
        """Write the report; the file appears whole or not at all."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".report-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.to_html())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path
