"""``make bench``: run every benchmark and write bench/REPORT.md.

Each benchmark module has ``main() -> list[dict]``; a row carries ``name``, ``value``,
``unit``, ``baseline`` (the raw figure measured in the same run), ``ratio``, ``target``
and ``ok``. The report puts each figure beside its baseline and target, with the machine.
``python -m bench.report bench.rbac`` runs only the named modules and replaces only their
sections of an existing report.
"""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import subprocess
import sys
import traceback
from pathlib import Path

import django

MODULES = [
    "bench.rbac",
    "bench.audit",
    "bench.views",
    "bench.masking",
    "bench.groups",
    "bench.ledger",
    "bench.browse",
    "bench.deploy",
]
REPORT = Path(__file__).resolve().parent / "REPORT.md"


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {mem:.0f} GiB",
        f"- {platform.platform()}; Python {platform.python_version()}; Django {django.__version__}",
        f"- {pg or 'psql not found'}",
    ]


def _cell(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| figure | value | unit | raw baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "—"}[row.get("ok")]
        cells = [row["name"], row.get("value"), row.get("unit"), row.get("baseline")]
        cells += [row.get("ratio"), row.get("target"), met]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def section(name: str) -> tuple[list[str], bool]:
    """One module's section of the report (without its heading), and whether it finished."""
    print(f"bench: running {name}", flush=True)
    try:
        module = importlib.import_module(name)
        lines = (module.__doc__ or "").strip().splitlines()[:1] + [""]
        return lines + table(module.main()), True
    except Exception:
        lines = ["The benchmark did not finish:", "", "```", traceback.format_exc().strip()]
        return lines + ["```"], False


def replace_sections(text: str, sections: dict[str, list[str]]) -> str:
    """``text`` with each named module's section replaced (appended when missing)."""
    parts, lines = {}, text.rstrip("\n").split("\n")
    order, current = ["_head"], "_head"
    for line in lines:
        if line.startswith("## `") and line.endswith("`"):
            current = line[4:-1]
            order.append(current)
        parts.setdefault(current, []).append(line)
    for name, body in sections.items():
        if name not in parts:
            order.append(name)
        parts[name] = [f"## `{name}`", "", *body, ""]
    return "\n".join(line for name in order for line in parts[name]).rstrip("\n") + "\n"


def main(only: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")
    django.setup()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    results = {name: section(name) for name in (only or MODULES)}
    failed = not all(ok for _, ok in results.values())
    if only and REPORT.exists():
        bodies = {name: body for name, (body, _) in results.items()}
        REPORT.write_text(replace_sections(REPORT.read_text(), bodies))
        print(f"bench: updated {', '.join(only)} in {REPORT}")
        return 1 if failed else 0
    out = ["# Benchmark report", "", f"Written by `make bench` on {now}.", "", "## Machine", ""]
    out += machine()
    for name, (body, _) in results.items():
        out += ["", f"## `{name}`", "", *body]
    REPORT.write_text("\n".join(out) + "\n")
    print(f"bench: wrote {REPORT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
