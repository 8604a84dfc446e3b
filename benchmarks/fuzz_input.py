"""The larger fuzz of ``mescc assess`` inputs (issue 9); writes benchmarks/results_fuzz_input.md.

Generates N input files with ``tests/input_fuzz.py`` (each with its oracle verdict), runs every
one through ``mescc assess --format json`` in process (CliRunner: an exception escaping the
command is what the real script prints as a traceback) and a sample of them through the real
``mescc`` script in a subprocess, and counts: tracebacks, exit codes, bad inputs scored (exit
0 for an input the oracle calls invalid), altered echoes (exit 0 with a patient echo that is
not what was written) and valid inputs refused. Measured, never asserted.

Run: ``.venv/bin/python benchmarks/fuzz_input.py [--files 500] [--script-files 100]``.
``--src DIR`` runs it against another source tree (e.g. the code before this work).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _outcome(case: Any, code: int, stdout: str, stderr: str, crashed: bool) -> str:
    if crashed or "Traceback" in stderr:
        return "traceback"
    if code not in (0, 2):
        return f"exit {code}"
    if code == 0 and not case.valid:
        return "bad input scored"
    if code == 0:
        try:
            echo = json.loads(stdout)["patient"]
        except (ValueError, KeyError, TypeError):
            return "exit 0 without a document"
        return "valid, scored as written" if echo == case.expected else "valid, echo altered"
    return "invalid, refused (exit 2)" if not case.valid else "valid, refused (exit 2)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--script-files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20250609)
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--label", default="this branch")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_fuzz_input.md")
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(args.src))
    sys.path.insert(0, str(ROOT / "tests"))
    from typer.testing import CliRunner

    from input_fuzz import generate_case
    from mescc.cli import app

    rng = random.Random(args.seed)
    cases = [generate_case(rng) for _ in range(args.files)]
    runner = CliRunner()
    in_process: collections.Counter[str] = collections.Counter()
    codes: collections.Counter[int] = collections.Counter()
    by_defect: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    examples: dict[str, str] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, case in enumerate(cases):
            path = Path(folder) / f"{i:04d}-{case.name.lstrip('-') or 'stdin'}"
            if case.name != "-":
                path = Path(folder) / f"{i:04d}-{case.name}"
                path.write_bytes(case.data)
            paths.append(path)
            if case.name == "-":
                result = runner.invoke(app, ["assess", "-", "--format", "json"], input=case.data)
            else:
                result = runner.invoke(app, ["assess", str(path), "--format", "json"])
            crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
            outcome = _outcome(case, result.exit_code, result.stdout, result.stderr, crashed)
            in_process[outcome] += 1
            codes[result.exit_code] += 1
            for defect in case.defects or ["(valid)"]:
                by_defect[defect][outcome] += 1
            if outcome not in examples and outcome not in (
                "invalid, refused (exit 2)",
                "valid, scored as written",
            ):
                detail = repr(result.exception) if crashed else result.stderr
                examples[outcome] = f"{case.defects or 'valid'}: {detail[:200]}"
        elapsed = time.perf_counter() - started
        script = Path(sys.executable).with_name("mescc")
        script_counts: collections.Counter[str] = collections.Counter()
        env = {**os.environ, "PYTHONPATH": str(args.src)}
        sample = [i for i in range(len(cases)) if cases[i].name != "-"][: args.script_files]
        script_started = time.perf_counter()
        for i in sample:
            proc = subprocess.run(
                [str(script), "assess", str(paths[i]), "--format", "json"],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=120,
                check=False,
                env=env,
            )
            script_counts[
                _outcome(cases[i], proc.returncode, proc.stdout, proc.stderr, crashed=False)
            ] += 1
        script_elapsed = time.perf_counter() - script_started

    valid = sum(c.valid for c in cases)
    unwanted = {
        "traceback": "tracebacks",
        "bad input scored": "bad inputs scored",
        "valid, echo altered": "valid inputs scored with an altered value",
        "valid, refused (exit 2)": "valid inputs refused",
    }
    other_codes = sum(v for k, v in codes.items() if k not in (0, 2))
    headline = ", ".join(
        [f"{in_process[k]} {label}" for k, label in unwanted.items()]
        + [f"{other_codes} exit codes other than 0 or 2"]
    )
    script_headline = ", ".join(f"{script_counts[k]} {label}" for k, label in unwanted.items())
    lines = [
        f"## {args.label}: {args.files} generated files (seed {args.seed})",
        "",
        f"**In process, {args.files} files: {headline}.** Real script, {len(sample)} of them: "
        f"{script_headline}.",
        "",
        f"Source: `{args.src.relative_to(ROOT) if args.src.is_relative_to(ROOT) else args.src}`;"
        f" Python {platform.python_version()}; {os.cpu_count()} CPUs (shared); "
        f"{valid} inputs valid by the oracle, {args.files - valid} with at least one defect.",
        "",
        f"In process (every file, {elapsed:.1f} s):",
        "",
        "| outcome | files |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(in_process.items())],
        "",
        "Exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(codes.items())),
        "",
        f"Real `mescc` script in a subprocess (first {len(sample)} file inputs, "
        f"{script_elapsed:.1f} s):",
        "",
        "| outcome | files |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(script_counts.items())],
        "",
        "Per defect class (a file may carry several):",
        "",
        "| defect | outcomes |",
        "|---|---|",
        *[
            f"| {d} | " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())) + " |"
            for d, c in sorted(by_defect.items())
        ],
    ]
    if examples:
        lines += ["", "First example of each unwanted outcome:", ""]
        lines += [f"- {k}: `{v.replace('`', chr(39))}`" for k, v in sorted(examples.items())]
    lines.append("")
    header = [
        "# Fuzz of `mescc assess` inputs (issue 9)",
        "",
        "Written by `benchmarks/fuzz_input.py` (inputs and oracle: `tests/input_fuzz.py`; the "
        "bounded test is `tests/cli/test_fuzz_assess.py`). Unwanted outcomes: traceback, an exit "
        "code other than 0 or 2, bad input scored, valid echo altered, valid input refused. "
        "A run with `--src` on older code judges it by this branch's rules (its new bounds; "
        "UTF-16 with a byte-order mark, refused then by a traceback, is valid now).",
        "",
        "",
    ]
    text = "\n".join(lines)
    if args.append and args.out.exists():
        args.out.write_text(args.out.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
    else:
        args.out.write_text("\n".join(header) + text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
