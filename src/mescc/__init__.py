"""mescc: decision support for radiotherapy of malignant epidural spinal cord compression."""

from __future__ import annotations

__version__ = "0.1.0"
