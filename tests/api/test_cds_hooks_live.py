"""A CDS Hooks client against the running service over real HTTP (``mescc serve`` in a
subprocess): discovery, patient-view with prefetch and without (fetched from a FHIR server on
loopback), 412, a bad JWT (401), and cards that carry the spec's required fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .cds_keys import TestClientKeys
from .cds_support import (
    SERVICE,
    assert_card_conforms,
    example_resources,
    fhir_authorization,
    hook_body,
    prefetch_of,
)
from .fhir_server import fhir_server
from .live_server import LiveServer


@pytest.fixture(scope="module")
def keys() -> TestClientKeys:
    return TestClientKeys()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, keys: TestClientKeys) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("cds-live")
    live = LiveServer(
        f"sqlite:///{data_dir / 'mescc.sqlite3'}",
        data_dir,
        extra_env={"MESCC_CDS_CLIENTS": json.dumps([keys.client_config()])},
    )
    live.start()
    yield live
    live.stop()


def test_discovery_over_http(server: LiveServer, keys: TestClientKeys) -> None:
    url = f"{server.url}/cds-services"
    response = httpx.get(url, headers=keys.headers(url))
    assert response.status_code == 200
    (service,) = response.json()["services"]
    assert service["id"] == SERVICE and service["hook"] == "patient-view"
    assert set(service["prefetch"]) == {"patient", "conditions", "observations", "procedures"}


def test_patient_view_with_prefetch_over_http(server: LiveServer, keys: TestClientKeys) -> None:
    url = f"{server.url}/cds-services/{SERVICE}"
    resources = example_resources("radioresistant_unstable")
    body = hook_body(resources[0]["id"], prefetch_of(resources))
    response = httpx.post(url, json=body, headers=keys.headers(url), timeout=30)
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert_card_conforms(card)
    assert card["indicator"] == "warning"
    page = card["links"][0]["url"]
    assert page.startswith(f"{server.url}/assessments/")
    assert httpx.get(page).status_code in (200, 303), "the link points at the web app"


def test_patient_view_without_prefetch_reads_the_fhir_server(
    server: LiveServer, keys: TestClientKeys
) -> None:
    url = f"{server.url}/cds-services/{SERVICE}"
    resources = example_resources("poor_prognosis")
    with fhir_server(resources, token="live-fhir-token") as (fhir_url, store):
        body = hook_body(
            resources[0]["id"],
            None,
            fhirServer=fhir_url,
            fhirAuthorization=fhir_authorization("live-fhir-token"),
        )
        response = httpx.post(url, json=body, headers=keys.headers(url), timeout=30)
    assert response.status_code == 200, response.text
    assert any(r.startswith("/fhir/Patient/") for r in store.requests)
    (card,) = response.json()["cards"]
    assert_card_conforms(card)
    assert card["summary"].startswith("Consider 1 x 8 Gy")


def test_no_data_and_no_fhir_server_is_412_over_http(
    server: LiveServer, keys: TestClientKeys
) -> None:
    url = f"{server.url}/cds-services/{SERVICE}"
    response = httpx.post(url, json=hook_body("p1", None), headers=keys.headers(url), timeout=30)
    assert response.status_code == 412


def test_a_bad_jwt_is_401_over_http(server: LiveServer, keys: TestClientKeys) -> None:
    url = f"{server.url}/cds-services/{SERVICE}"
    resources = example_resources("poor_prognosis")
    body = hook_body(resources[0]["id"], prefetch_of(resources))
    forged = TestClientKeys()  # the trusted issuer and kid, signed with another key
    response = httpx.post(url, json=body, headers=forged.headers(url), timeout=30)
    assert response.status_code == 401
    assert httpx.get(f"{server.url}/cds-services").status_code == 401
