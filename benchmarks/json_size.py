"""Size of the JSON document of ``mescc assess --format json`` per bundled example (issue 10).

For every ``examples/*.yaml``: the full document pretty-printed (``indent=2``, as the CLI prints
it today) and compact (one line), the summary view (``mescc.render.json_view``, the default)
compact and pretty, and the time to build the summary view from the document (median of
repeated builds, in-process). Measured, never asserted; writes
``benchmarks/results_json_size.md``. Target (issue 10): the default document under 40 KB.

Run: ``.venv/bin/python benchmarks/json_size.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mescc.document import assessment_document  # noqa: E402
from mescc.kb import load_kb  # noqa: E402
from mescc.render.json_view import compact_json, json_view  # noqa: E402

OUT = ROOT / "benchmarks" / "results_json_size.md"
TARGET_BYTES = 40_000


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def measure(path: Path, repeat: int) -> dict[str, Any]:
    """Sizes (bytes) and the median time (ms) to build the summary view of one example."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc = assessment_document(data, kb=load_kb(None))
    view = json_view(doc, "summary")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        json_view(doc, "summary")
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(repeat):
        compact_json(json_view(doc, "summary"))
    serialised = (time.perf_counter() - t0) / repeat
    return {
        "example": path.stem,
        "full_pretty": _bytes(_pretty(doc)),
        "full_compact": _bytes(compact_json(doc)),
        "summary_compact": _bytes(compact_json(view)),
        "summary_pretty": _bytes(_pretty(view)),
        "references": len(view["references"]),
        "view_ms": statistics.median(times) * 1000,
        "view_json_ms": serialised * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    rows = [measure(p, args.repeat) for p in sorted((ROOT / "examples").glob("*.yaml"))]
    kb = lambda n: f"{n / 1000:.1f}"  # noqa: E731
    lines = [
        "# JSON document size (issue 10)",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}. Written by "
        f"`benchmarks/json_size.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"({args.repeat} builds per example). Shared, noisy machine: times are indicative; "
        "nothing is asserted on them in tests.",
        "",
        "KB = 1,000 bytes of UTF-8. *full* is the contract document (what the API and the web "
        "app store; `--detail full`); *summary* is `mescc.render.json_view.json_view(document, "
        f'"summary")`, the default view (target: under {TARGET_BYTES // 1000} KB compact). '
        "Time: building the summary view from the document (median), and building plus "
        "compact serialisation (mean).",
        "",
        "| example | full, pretty (KB) | full, compact (KB) | summary, compact (KB) | "
        "summary, pretty (KB) | summary / full compact | references | view (ms) | "
        "view + JSON (ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["summary_compact"] / r["full_compact"]
        lines.append(
            f"| {r['example']} | {kb(r['full_pretty'])} | {kb(r['full_compact'])} | "
            f"{kb(r['summary_compact'])} | {kb(r['summary_pretty'])} | {ratio:.0%} | "
            f"{r['references']} | {r['view_ms']:.2f} | {r['view_json_ms']:.2f} |"
        )
    worst = max(rows, key=lambda r: r["summary_compact"])
    lines += [
        "",
        f"Largest summary view: {worst['example']}, {worst['summary_compact']:,} bytes "
        f"({'under' if worst['summary_compact'] < TARGET_BYTES else 'OVER'} the "
        f"{TARGET_BYTES:,}-byte target).",
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
