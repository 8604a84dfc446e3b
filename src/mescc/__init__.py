"""mescc: decision support for radiotherapy of malignant epidural spinal cord compression.

Public API (imported lazily, so ``import mescc`` stays light)::

    from mescc import assess, assess_table, load_kb, Patient, Assessment
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Assessment", "Patient", "__version__", "assess", "assess_table", "load_kb"]

if TYPE_CHECKING:
    from mescc.assessment import Assessment, assess, assess_table
    from mescc.kb.loader import load_kb
    from mescc.patient import Patient

_LAZY = {
    "assess": "mescc.assessment",
    "assess_table": "mescc.assessment",
    "Assessment": "mescc.assessment",
    "load_kb": "mescc.kb.loader",
    "Patient": "mescc.patient",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mescc' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
