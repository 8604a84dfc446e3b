"""A content-addressed disk cache for the proved knowledge base.

Loading the knowledge base parses every definition file and proves it (coverage, ranges,
groups, cross-references). The result depends only on the files' text and on the code that
proves them, so it is cached under a key made of both: any change to a definition file, an
overlay or the loader code gives a new key and a fresh, fully proved build. This keeps the CLI
cold start low. ``MESCC_NO_CACHE=1`` disables the cache; ``MESCC_CACHE_DIR`` moves it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_CODE_MODULES = (
    "fields.py",
    "errors.py",
    "kb/schema.py",
    "kb/loader.py",
    "kb/overlay.py",
    "kb/evidence.py",
    "plan/rules.py",
)


def _code_digest() -> str:
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for rel in _CODE_MODULES:
        path = root / rel
        if path.exists():
            h.update(rel.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def cache_dir() -> Path | None:
    """Where cached builds live, or None when caching is disabled."""
    if os.environ.get("MESCC_NO_CACHE"):
        return None
    base = os.environ.get("MESCC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "mescc"
    )
    return Path(base)


def cached(kind: str, parts: Iterable[str], build: Callable[[], T]) -> T:
    """Return ``build()``, reusing a pickled result for identical inputs and code."""
    folder = cache_dir()
    if folder is None:
        return build()
    h = hashlib.sha256(_code_digest().encode())
    for part in parts:
        h.update(part.encode() + b"\0")
    path = folder / f"{kind}-{h.hexdigest()[:32]}.pickle"
    try:
        with path.open("rb") as fh:
            value: T = pickle.load(fh)
        return value
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    value = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home is fine: the build is simply not reused
    return value
