"""What every benchmark hands ``bench.report``: rows of figures beside their raw baselines.

A row carries ``name``, ``value``, ``unit``, ``baseline`` (the raw figure measured in the
same run), ``ratio``, ``target`` and ``ok``.
"""

from __future__ import annotations

import os
from collections.abc import Callable


def row(name: str, value, unit: str, baseline=None, ratio=None, target=None, ok=None) -> dict:
    """One figure, exactly as measured."""
    return {"name": name, "value": value, "unit": unit, "baseline": baseline,
            "ratio": ratio, "target": target, "ok": ok}  # fmt: skip


def compared(name: str, value: float, unit: str, baseline=None, target=None, ok=None) -> dict:
    """One figure to a tenth, with its ratio to the baseline when there is one."""
    ratio = round(value / baseline, 2) if baseline else None
    return row(name, round(value, 1), unit, baseline, ratio, target, ok)


def print_rows(rows: list[dict], width: int = 80) -> None:
    """A benchmark's rows on the terminal, each beside its baseline and target."""
    for r in rows:
        value = f"{r['value']:>12,}" if isinstance(r["value"], int | float) else f"{r['value']:>12}"
        line = f"{r['name']:<{width}} {value} {r['unit']}"
        if r.get("baseline") is not None:
            line += f"  (raw {r['baseline']:,}, ratio {r['ratio']})"
        if r.get("target"):
            line += f"  target {r['target']}: {'ok' if r['ok'] else 'MISSED'}"
        print(line)


def run_alone(main: Callable[[], list[dict]], width: int = 80) -> None:
    """``python -m bench.<name>``: set Django up, run the benchmark, print its rows."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")
    django.setup()
    print_rows(main(), width)
