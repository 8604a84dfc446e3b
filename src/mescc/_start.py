"""Entry point of the ``mescc`` console script, kept small for a fast cold start.

A ``mescc assess`` is one short process: most of its time is importing (typer, pydantic, the
plan's models). So this module, before anything heavy is imported:

* pauses the cyclic garbage collector while the app is built (class creation makes many
  objects and little cyclic garbage). The short commands (:data:`SHORT`) keep it paused to
  the end (their own imports are most of their time; reference counting frees what they
  make: 270 patients in one ``mescc assess`` peaked at the same memory with and without
  it); the others freeze what was imported, so later collections never walk it, and collect
  normally;
* for the short commands (:data:`SHORT`), skips pydantic's plugin discovery (a scan of every
  installed package's entry points; mescc uses no pydantic plugin) unless
  ``PYDANTIC_DISABLE_PLUGINS`` is already set;
* builds only the click command that runs (``mescc.cli.build_app``).

The heavy libraries (polars, pyarrow, FastAPI, fhir.resources, WeasyPrint, matplotlib,
lifelines, scikit-learn) are imported inside the commands that need them, never on the assess
path (``tests/cli/test_cold_start.py``). Measured by ``benchmarks/cold_start.py``.
"""

from __future__ import annotations

import gc
import os
import sys

#: Commands that are one short process (their plugins are never needed).
SHORT = frozenset({"assess", "instruments", "dose", "kb"})


def main() -> None:
    """Run ``mescc`` with the arguments of this process."""
    command = sys.argv[1] if len(sys.argv) > 1 else None
    short = command in SHORT
    gc.disable()
    if short:
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        from mescc.cli import build_app

        app = build_app(command)
    finally:
        if not short:
            gc.freeze()
            gc.enable()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
