"""A tiny HTML report builder: tables and matplotlib figures embedded in one file.

Tables get one number format per column, chosen from the column's meaning:
counts as integers with thousands separators, shares and rates as
percentages, money with two decimals, ratios with about three significant
digits (see :func:`infer_format` and :func:`format_column`).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"channel": ["search", "video"], "clicks": [13415, 210],
...                    "ctr": [0.0586, 0.0021], "cost": [107320.0, 24187.68], "iroas": [3.412, 20.07]})
>>> [format_column(df[c], infer_format(c, df[c])) for c in df.columns[1:]]
[['13,415', '210'], ['5.86%', '0.21%'], ['107,320.00', '24,187.68'], ['3.4', '20.1']]
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["FORMAT_KINDS", "ColumnFormat", "Report", "Section", "format_column", "infer_format"]

#: the named number formats of a report column
FormatKind = Literal["count", "percent", "money", "ratio", "text"]
FORMAT_KINDS: tuple[str, ...] = ("count", "percent", "money", "ratio", "text")
#: a column's format: a kind, a ``str.format`` pattern such as ``"{:,.3f}"``, or a callable value -> text
ColumnFormat = FormatKind | str | Callable[[Any], str]

# words of a column name that say what its numbers are (checked in this order: shares first,
# so ``share_error`` is a share and ``shapley_conversions`` a count)
_PERCENT_WORDS = frozenset({"share", "shares", "rate", "rates", "ctr", "cvr", "penetration", "pct", "percent",
                            "probability", "prob"})
_MONEY_WORDS = frozenset({"revenue", "spend", "cost", "costs", "cpm", "cpc", "cpa", "price", "budget", "money",
                          "aov", "value", "sales"})
_COUNT_WORDS = frozenset({"events", "users", "consumers", "conversions", "impressions", "clicks", "journeys",
                          "count", "counts", "n", "before", "after", "growth", "touches", "pairs", "population",
                          "nulls", "purchases", "reviews", "sessions", "rows"})
_RATIO_WORDS = frozenset({"iroas", "roas", "ratio", "correlation", "lift", "index", "rating", "coef", "effect",
                          "elasticity", "mrr"})

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
padding:0 1rem;color:#1d2733;line-height:1.45}
h1{font-size:1.8rem;margin-bottom:.2rem} h2{border-bottom:2px solid #e3e8ee;padding-bottom:.3rem;margin-top:2.2rem}
.meta{color:#5b6b7c;font-size:.9rem;margin:.2rem 0} p.note{color:#3d4b5a} nav a{margin-right:1rem}
figure{margin:.6rem 0 1.2rem} figure img{max-width:100%;display:block}
.tbl{overflow-x:auto;margin:.3rem 0 1.2rem}
table.m360{border-collapse:collapse;font-size:.88rem}
table.m360 th,table.m360 td{border:1px solid #dfe5ec;padding:.25rem .6rem;vertical-align:top;white-space:nowrap}
table.m360 thead th{background:#f3f6f9;font-weight:600;vertical-align:bottom;white-space:normal;min-width:3.2em}
table.m360 .num{text-align:right;font-variant-numeric:tabular-nums}
table.m360 .txt{text-align:left}
table.m360 tbody tr:nth-child(even){background:#fafbfc}
"""


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", str(name).lower()) if w]


def infer_format(name: Any, values: pd.Series) -> FormatKind:
    """The format kind of a report column, from its name and values.

    Parameters
    ----------
    name : str
        The column's name; its words (split on ``_``, spaces and punctuation)
        decide first: a share or rate word (``share``, ``rate``, ``ctr``,
        ``penetration`` ...) gives ``"percent"``; a money word (``revenue``,
        ``spend``, ``cost``, ``cpm``, ``value`` ...) ``"money"``; a count word
        (``events``, ``users``, ``consumers``, ``conversions``, ``clicks`` ...)
        ``"count"``; a ratio word (``iroas``, ``correlation``, ``rating`` ...)
        ``"ratio"``.
    values : pandas.Series
        The column. Non-numeric and boolean columns are ``"text"``; a numeric
        column whose name says nothing is ``"count"`` when it holds integers
        (integer dtype) and ``"ratio"`` otherwise.

    Returns
    -------
    {"count", "percent", "money", "ratio", "text"}

    Examples
    --------
    >>> import pandas as pd
    >>> [infer_format(c, pd.Series([0.5])) for c in ["share_error", "switch_off_revenue", "shapley_conversions",
    ...                                               "true_iroas", "theta"]]
    ['percent', 'money', 'count', 'ratio', 'ratio']
    >>> infer_format("brand", pd.Series(["Acme"])), infer_format("level", pd.Series([3]))
    ('text', 'count')
    """
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "text"
    words = _words(name)
    for vocabulary, kind in ((_PERCENT_WORDS, "percent"), (_MONEY_WORDS, "money"), (_COUNT_WORDS, "count"),
                             (_RATIO_WORDS, "ratio")):
        if any(w in vocabulary for w in words):
            return kind  # type: ignore[return-value]
    return "count" if pd.api.types.is_integer_dtype(values) else "ratio"


def _decimals(values: np.ndarray, *, significant: int, scale: float = 1.0, low: int, high: int,
              stat: Callable[[np.ndarray], float]) -> int:
    v = np.abs(values[np.isfinite(values)]) * scale
    v = v[v > 0]
    if not len(v):
        return low
    return int(min(high, max(low, significant - 1 - math.floor(math.log10(stat(v))))))


def format_column(values: pd.Series, fmt: ColumnFormat) -> list[str]:
    """The cells of one column as text, with one format for the whole column.

    Parameters
    ----------
    values : pandas.Series
        The column; missing values become empty cells.
    fmt : str or callable
        ``"count"``: rounded to an integer, thousands separators (``12,345``).
        ``"percent"``: the value times 100 with a ``%`` sign, with as many
        decimals (1 to 3) as the column's smallest non-zero value needs for two
        significant digits (``5.86%``, ``0.21%``). ``"money"``: two decimals and
        thousands separators. ``"ratio"``: as many decimals (0 to 4) as the
        column's median magnitude needs for three significant digits. ``"text"``:
        ``str``, dates as ``YYYY-MM-DD`` when they carry no time of day. Any other
        string is a ``str.format`` pattern (``"{:,.3f}"``); a callable maps a
        value to its text.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> format_column(pd.Series([1186.4, -1008.0, None]), "count")
    ['1,186', '-1,008', '']
    >>> format_column(pd.Series([0.115, 0.325]), "percent")
    ['11.5%', '32.5%']
    >>> format_column(pd.Series([17.49, 183.57, 3.41]), "ratio")
    ['17.5', '183.6', '3.4']
    >>> format_column(pd.Series([0.829, 0.2]), "ratio")
    ['0.829', '0.200']
    """
    s = pd.Series(values).reset_index(drop=True)
    missing = s.isna().to_numpy()
    if callable(fmt):
        return ["" if m else str(fmt(v)) for v, m in zip(s, missing)]
    if fmt == "text":
        if pd.api.types.is_datetime64_any_dtype(s):
            t = pd.to_datetime(s)
            midnight = bool(((t.dt.hour == 0) & (t.dt.minute == 0) & (t.dt.second == 0))[~missing].all())
            pattern = "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M"
            return ["" if m else v.strftime(pattern) for v, m in zip(t, missing)]
        return ["" if m else str(v) for v, m in zip(s, missing)]
    if fmt in FORMAT_KINDS or "{" not in str(fmt):
        if fmt not in FORMAT_KINDS:
            raise ParameterError(f"a column format must be one of {list(FORMAT_KINDS)}, a str.format pattern "
                                 f"such as '{{:,.3f}}' or a callable; found {fmt!r}")
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            return format_column(s, "text")
    x = s.to_numpy(dtype=float, na_value=np.nan)  # numeric here: text columns returned above
    if fmt == "count":
        d = 0
    elif fmt == "money":
        d = 2
    elif fmt == "percent":
        d = _decimals(x, significant=2, scale=100.0, low=1, high=3, stat=np.min)
    elif fmt == "ratio":
        d = _decimals(x, significant=3, low=0, high=4, stat=np.median)
    else:
        pattern = str(fmt)
        return ["" if m else pattern.format(v) for v, m in zip(s, missing)]
    scale = 100.0 if fmt == "percent" else 1.0
    suffix = "%" if fmt == "percent" else ""
    # round first, and add 0.0 so that a value rounding to zero never shows as "-0"
    return ["" if m else f"{round(v * scale, d) + 0.0:,.{d}f}{suffix}" for v, m in zip(x, missing)]


def _table_html(df: pd.DataFrame, formats: Mapping[str, ColumnFormat], labels: Mapping[str, str],
                caption: str | None) -> str:
    cols = list(df.columns)
    kinds = {c: formats.get(c, infer_format(c, df[c])) for c in cols}
    cells = {c: format_column(df[c], kinds[c]) for c in cols}
    cls = {c: "txt" if kinds[c] == "text" or not pd.api.types.is_numeric_dtype(df[c])
           or pd.api.types.is_bool_dtype(df[c]) else "num" for c in cols}
    # the caption sits above the scrolling box, so a wide table never clips it
    out = [f"<p class='meta'>{html.escape(caption)}</p>" if caption else "", "<div class='tbl'><table class='m360'>"]
    head = "".join(f"<th class='{cls[c]}' scope='col'>{html.escape(labels.get(c, str(c).replace('_', ' ')))}</th>"
                   for c in cols)
    out.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for i in range(len(df)):
        out.append("<tr>" + "".join(f"<td class='{cls[c]}'>{html.escape(cells[c][i])}</td>" for c in cols)
                   + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """A plain frame: a named index becomes columns (an unnamed one is dropped), column levels are joined."""
    out = df.reset_index(drop=all(n is None for n in df.index.names))
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = [" / ".join(str(p) for p in c if str(p) != "") for c in out.columns]
    out.columns = [str(c) for c in out.columns]
    out.columns.name = None
    if len(set(out.columns)) != len(out.columns):
        dup = sorted({c for c in out.columns if list(out.columns).count(c) > 1})
        raise ParameterError(f"a report table needs distinct column names; repeated: {dup}")
    return out


@dataclass
class Section:
    """One section of a report: a title and a list of HTML blocks."""

    title: str
    blocks: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """The section's id in the page (its title, lower case, other characters as ``-``)."""
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")

    def text(self, text: str) -> Section:
        """Add a paragraph (escaped)."""
        self.blocks.append(f"<p class='note'>{html.escape(text)}</p>")
        return self

    def table(self, df: pd.DataFrame, *, caption: str | None = None,
              formats: Mapping[str, ColumnFormat] | None = None, labels: Mapping[str, str] | None = None,
              max_rows: int = 50) -> Section:
        """Add a table with one number format per column.

        Parameters
        ----------
        df : pandas.DataFrame
            The rows to show. A named index is shown as leading columns, an
            unnamed one is not; column levels are joined with ``" / "``.
        caption : str, optional
            The table's caption, above it.
        formats : mapping of column name to format, optional
            ``"count"``, ``"percent"``, ``"money"``, ``"ratio"``, ``"text"``, a
            ``str.format`` pattern or a callable (see :func:`format_column`); columns
            not named here get :func:`infer_format`'s choice.
        labels : mapping of column name to header text, optional
            Headers; by default the column name with ``_`` shown as spaces.
        max_rows : int, default 50
            Rows shown; a note under the table says how many there were.

        Returns
        -------
        Section
            ``self``, to chain calls.
        """
        shown = _flat(df.head(max_rows))
        unknown = sorted(set(formats or {}) - set(shown.columns))
        if unknown:
            raise ParameterError(f"formats names column(s) {unknown} the table lacks; columns: "
                                 f"{list(shown.columns)}")
        body = _table_html(shown, formats or {}, labels or {}, caption)
        more = f"<p class='meta'>first {max_rows} of {len(df):,} rows</p>" if len(df) > max_rows else ""
        self.blocks.append(body + more)
        return self

    def markup(self, markup: str) -> Section:
        """Add HTML or SVG made by this package (a Sankey diagram, say) as it is: it is not escaped."""
        self.blocks.append(f"<figure>{markup}</figure>")
        return self

    def figure(self, fig: Any, *, alt: str = "figure") -> Section:
        """Embed a matplotlib figure as a PNG; the figure is closed once embedded."""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)  # the report owns the figures it embeds
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        self.blocks.append(f"<figure><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'/></figure>")
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
        """Start a new section (appended at the end) and return it."""
        s = Section(title)
        self.sections.append(s)
        return s

    def to_html(self) -> str:
        """The whole report as one HTML page."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        nav = " ".join(f"<a href='#{s.anchor}'>{html.escape(s.title)}</a>" for s in self.sections)
        head = (f"<!doctype html><html><head><meta charset='utf-8'>"
                f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{html.escape(self.title)}</title>"
                f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
                f"<p class='meta'>{html.escape(self.subtitle)} &middot; generated {stamp}</p><nav>{nav}</nav>")
        parts = [head]
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
