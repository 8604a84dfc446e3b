"""``GET /health`` answers without credentials."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mescc import __version__


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "database": "ok",
        "writes": "ok",
        "audit_trail": "intact at start",
    }


def test_health_carries_the_security_headers(client: TestClient) -> None:
    headers = client.get("/health").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["strict-transport-security"].startswith("max-age=31536000")
