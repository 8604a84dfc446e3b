"""Reading a patient's resources from a FHIR R4 server (``mescc assess --fhir-server``, and the
CDS Hooks service when a prefetch is missing).

The queries are the CDS Hooks prefetch templates of the ``patient-view`` service, so what the
service fetches itself is exactly what a client would prefetch (CDS Hooks 2.0: prefetched data
MUST equal what the service would fetch). Searches follow ``next`` links on the same server
only, so the bearer token never leaves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin

import httpx

from mescc.adapters.fhir_codes import mapping
from mescc.adapters.fhir_in import MAX_SEARCH_PAGES
from mescc.errors import MesccError

PATIENT_TOKEN = "{{context.patientId}}"


class FhirServerError(MesccError):
    """The FHIR server could not be read (unreachable, an error status, a foreign next link)."""


def prefetch_templates() -> dict[str, str]:
    """The prefetch templates of the ``patient-view`` service (key -> FHIR query template).

    Only type-level searches with ``patient=`` and token equality on ``code`` (the subset the
    CDS Hooks 2.0 prefetch restrictions recommend); ``system|`` selects every code of a
    project-local system.
    """
    table = mapping()
    loinc = table.systems["loinc"]
    performance = [o for o in table.observations if o.system == loinc]
    observation_codes = [f"{o.system}|{o.code}" for o in performance] + [
        f"{table.systems['finding']}|"
    ]
    condition_codes = [
        f"{table.metastasis_system}|{table.metastasis_code}",
        f"{table.primary_tumor_system}|",
    ]
    return {
        "patient": f"Patient/{PATIENT_TOKEN}",
        "conditions": f"Condition?patient={PATIENT_TOKEN}&code={','.join(condition_codes)}",
        "observations": (f"Observation?patient={PATIENT_TOKEN}&code={','.join(observation_codes)}"),
        "procedures": (
            f"Procedure?patient={PATIENT_TOKEN}&code={table.course_system}|{table.course_code}"
        ),
    }


def query_for(key: str, patient_id: str) -> str:
    """The relative FHIR request of one prefetch key for one patient."""
    return prefetch_templates()[key].replace(PATIENT_TOKEN, patient_id)


def _get(client: httpx.Client, url: str) -> Any:
    try:
        response = client.get(url, headers={"Accept": "application/fhir+json"})
    except httpx.HTTPError as exc:
        raise FhirServerError(f"GET {url}: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise FhirServerError(f"GET {url}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise FhirServerError(f"GET {url}: the answer is not JSON") from None


def fetch(
    base_url: str,
    patient_id: str,
    *,
    keys: Iterable[str] | None = None,
    token: str | None = None,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Read the ``keys`` (default: every prefetch key) for one patient, as a prefetch map.

    Searches become one ``searchset`` Bundle per key (all pages). Raises
    :class:`FhirServerError` when any request fails.
    """
    base = base_url.rstrip("/") + "/"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    out: dict[str, Any] = {}
    with httpx.Client(headers=headers, timeout=timeout, transport=transport) as client:
        for key in keys if keys is not None else prefetch_templates():
            url = urljoin(base, query_for(key, patient_id))
            answer = _get(client, url)
            if "?" not in query_for(key, patient_id):
                out[key] = answer
                continue
            out[key] = _all_pages(client, base, url, answer)
    return out


def _all_pages(client: httpx.Client, base: str, url: str, first: Any) -> dict[str, Any]:
    if not isinstance(first, Mapping) or first.get("resourceType") != "Bundle":
        raise FhirServerError(f"GET {url}: the answer is not a Bundle")
    entries = list(first.get("entry") or [])
    page = first
    for _ in range(MAX_SEARCH_PAGES):
        following = next_link(page)
        if following is None:
            break
        target = urljoin(base, following)
        if not target.startswith(base):
            raise FhirServerError(f"GET {url}: next link {target} leaves the server {base}")
        page = _get(client, target)
        if not isinstance(page, Mapping):
            raise FhirServerError(f"GET {target}: the answer is not a Bundle")
        entries.extend(page.get("entry") or [])
    else:
        raise FhirServerError(f"GET {url}: more than {MAX_SEARCH_PAGES} pages")
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def next_link(bundle: Any) -> str | None:
    """The ``next`` link of a searchset Bundle, if any."""
    if not isinstance(bundle, Mapping):
        return None
    for link in bundle.get("link") or []:
        if isinstance(link, Mapping) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def prefetch_resources(prefetch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every resource of a prefetch map (``null`` values are no data)."""
    from mescc.adapters.fhir_in import bundle_resources

    out: list[dict[str, Any]] = []
    for value in prefetch.values():
        if isinstance(value, Mapping):
            out.extend(bundle_resources(value))
    return out
