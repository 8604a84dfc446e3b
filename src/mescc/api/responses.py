"""``JSONBody``: a JSON response serialised with orjson (one C call for a ~100 KB document).

The assessment document is the largest thing the service sends and stores; the standard
library's encoder was half the service's CPU time per request (``benchmarks/results_api.md``).
Documents hold only str keys and finite numbers (``Patient`` refuses NaN and infinities).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """UTF-8 JSON bytes of ``value`` (sorted keys when asked: the audit's stored text)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)


class JSONBody(JSONResponse):
    """``JSONResponse`` rendered by orjson."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
