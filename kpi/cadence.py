"""Country ring cadences, read from Asterisk's indications.conf format.

KPIs count "rings", and a ring is one cadence period (China: 1 s on + 4 s off = 5 s), so the
ring period must come from the same table Asterisk uses to play ringback. The table from
Asterisk's sample is shipped as `ring_cadences.json`; a site's own indications.conf can be
given instead.

Source of `ring_cadences.json`: Asterisk's `configs/samples/indications.conf.sample` as
supplied with the Asterisk 22.10.1 ARI spec and traces, kept as test data in
`tests/data/asterisk/` (a test checks the table against it);
regenerate with `python -m kpi.cadence tests/data/asterisk/indications.conf.sample
kpi/ring_cadences.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

DATA_FILE = "ring_cadences.json"


class CadenceError(ValueError):
    """Unknown country or an unusable ringcadence."""


def parse_indications(text: str) -> dict[str, tuple[int, ...]]:
    """Country code -> ringcadence (ms on/off values) for every section that has one."""
    table: dict[str, tuple[int, ...]] = {}
    section: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            continue
        if section is None or section == "general" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if key.strip().lower() != "ringcadence":
            continue
        try:
            cadence = tuple(int(part) for part in value.split(",") if part.strip())
        except ValueError as exc:
            raise CadenceError(f"line {lineno}: bad ringcadence {value.strip()!r}") from exc
        if not cadence or any(v < 0 for v in cadence) or sum(cadence) <= 0:
            raise CadenceError(f"line {lineno}: bad ringcadence {value.strip()!r}")
        table[section] = cadence
    return table


@cache
def _shipped_table() -> dict[str, tuple[int, ...]]:
    raw = resources.files("kpi").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, list[int]] = json.loads(raw)
    return {country: tuple(values) for country, values in data.items()}


def load_table(indications: str | Path | None = None) -> dict[str, tuple[int, ...]]:
    """The shipped table, or the one parsed from a site's indications.conf."""
    if indications is None:
        return _shipped_table()
    try:
        text = Path(indications).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CadenceError(f"cannot read {indications}: {exc.strerror or exc}") from exc
    return parse_indications(text)


def ring_cadence(country: str, indications: str | Path | None = None) -> tuple[int, ...]:
    """The on/off durations (ms) of `country`'s ringing tone."""
    table = load_table(indications)
    key = country.strip().lower()
    if key not in table:
        known = ", ".join(sorted(table))
        raise CadenceError(f"unknown country {country!r} (known: {known})")
    return table[key]


def ring_period_ms(country: str, indications: str | Path | None = None) -> int:
    """One ring (a full on+off cycle) in integer milliseconds, for exact comparisons."""
    return sum(ring_cadence(country, indications))


def ring_period_seconds(country: str, indications: str | Path | None = None) -> float:
    """One ring in seconds: the sum of the cadence's on/off values."""
    return ring_period_ms(country, indications) / 1000.0


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the shipped table.

    `python -m kpi.cadence tests/data/asterisk/indications.conf.sample kpi/ring_cadences.json`
    """
    parser = argparse.ArgumentParser(prog="python -m kpi.cadence", description=main.__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    try:
        table = load_table(args.source)
    except CadenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    payload = {country: list(values) for country, values in sorted(table.items())}
    args.dest.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
