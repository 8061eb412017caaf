"""The reports' three output formats (`--format json|csv|table`), one way for every
`hotline report ...` command."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import orjson


def render(data: Sequence[dict[str, object]], columns: Sequence[str], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(list(data), option=orjson.OPT_INDENT_2).decode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
        return out.getvalue().rstrip("\n")
    shown = [[cell(row[c]) for c in columns] for row in data]
    widths = [max([len(c), *(len(r[i]) for r in shown)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in shown]
    return "\n".join(lines)


def cell(value: object) -> str:
    """A table cell: `-` for nothing, floats to two places."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
