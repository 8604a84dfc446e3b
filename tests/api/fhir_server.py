"""A small FHIR R4 server on loopback, serving bundles from memory (for the tests).

No FHIR server package could be installed from the reachable registries (see docs/fhir.md:
HAPI needs Maven Central; PyPI's ``fhirsnake`` ignores search parameters and pins an old
FastAPI; Debian has none), so the tests serve the sample bundles from this endpoint. It does
what the importer relies on: ``read`` (``GET /Patient/{id}``), type-level ``search`` with
``patient=`` and token ``code=`` (``system|code``, ``system|``, ``code``, comma = OR), paging
with ``_count`` and ``next`` links, and a bearer-token check.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


def _subject(resource: Mapping[str, Any]) -> str | None:
    ref = resource.get("subject") or {}
    text = ref.get("reference") if isinstance(ref, Mapping) else None
    return str(text).rsplit("/", 1)[-1] if text else None


def _matches(resource: Mapping[str, Any], tokens: list[str]) -> bool:
    codings = (resource.get("code") or {}).get("coding") or []
    for token in tokens:
        system, bar, code = token.rpartition("|")
        for c in codings:
            if bar and system and not code and c.get("system") == system:
                return True
            if bar and c.get("system") == system and c.get("code") == code:
                return True
            if not bar and c.get("code") == token:
                return True
    return False


class FhirStore:
    def __init__(self, resources: Iterable[Mapping[str, Any]], token: str | None) -> None:
        self.resources = [dict(r) for r in resources]
        self.token = token
        self.requests: list[str] = []
        self.page_size = 3


def _handler(store: FhirStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            store.requests.append(self.path)
            if store.token and self.headers.get("Authorization") != f"Bearer {store.token}":
                self._send(401, {"resourceType": "OperationOutcome", "issue": []})
                return
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p][1:]  # below /fhir
            query = parse_qs(url.query)
            if len(parts) == 2:
                found = [
                    r for r in store.resources
                    if r["resourceType"] == parts[0] and r.get("id") == parts[1]
                ]  # fmt: skip
                if found:
                    self._send(200, found[0])
                else:
                    self._send(404, {"resourceType": "OperationOutcome", "issue": []})
                return
            if len(parts) != 1:
                self._send(404, {"resourceType": "OperationOutcome", "issue": []})
                return
            hits = [r for r in store.resources if r["resourceType"] == parts[0]]
            if "patient" in query:
                hits = [r for r in hits if _subject(r) == query["patient"][0]]
            if "code" in query:
                tokens = [t for v in query["code"] for t in v.split(",")]
                hits = [r for r in hits if _matches(r, tokens)]
            offset = int(query.get("_offset", ["0"])[0])
            count = int(query.get("_count", [str(store.page_size)])[0])
            page = hits[offset : offset + count]
            body: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(hits),
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in page],
            }
            if offset + count < len(hits):
                params = {k: v[0] for k, v in query.items()}
                params.update({"_offset": str(offset + count), "_count": str(count)})
                body["link"] = [{"relation": "next", "url": f"{url.path}?{urlencode(params)}"}]
            self._send(200, body)

    return Handler


@contextmanager
def fhir_server(
    resources: Iterable[Mapping[str, Any]], token: str | None = None
) -> Iterator[tuple[str, FhirStore]]:
    """``(base_url, store)`` of a FHIR server on 127.0.0.1 serving ``resources``."""
    store = FhirStore(resources, token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir", store
    finally:
        server.shutdown()
        server.server_close()
