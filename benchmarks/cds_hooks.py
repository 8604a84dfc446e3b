"""Latency of a CDS Hooks ``patient-view`` call with prefetch, over loopback.

Starts a real ``mescc serve`` (one worker, SQLite in WAL mode with ``synchronous=FULL``) that
trusts a generated EC P-384 key, then sends sequential ``POST /cds-services/mescc-rt-advisor``
calls with a full prefetch, cycling through every example patient (as R4 resources). Each call
carries its own JWT (made before the clock starts). The time is from sending the request to
the last byte of the card; the service verifies the JWT, records the jti, imports the
resources, assesses the patient, stores the assessment, and builds and validates the card.
Results go to ``benchmarks/results_cds.md``. CDS Hooks 2.0 asks for about 500 ms.

    .venv/bin/python benchmarks/cds_hooks.py [--calls 300]

Only loopback is used; the loop is bounded in count. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from mescc.adapters.fhir_out import patient_resources
from mescc.patient import Patient

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results_cds.md"
ISSUER = "https://bench-ehr.invalid/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prefetch(resources: list[dict[str, Any]]) -> dict[str, Any]:
    def search(kind: str) -> dict[str, Any]:
        entries = [{"resource": r} for r in resources if r["resourceType"] == kind]
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries}

    return {
        "patient": resources[0],
        "conditions": search("Condition"),
        "observations": search("Observation"),
        "procedures": search("Procedure"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    clients = [{"issuer": ISSUER, "jwks": {"keys": [{**jwk, "kid": "k1", "alg": "ES384"}]}}]
    port = _free_port()
    url = f"http://127.0.0.1:{port}/cds-services/mescc-rt-advisor"
    now = datetime.now(UTC)
    bodies = []
    for path in sorted((REPO / "examples").glob("*.yaml")):
        patient = Patient.from_data(yaml.safe_load(path.read_text(encoding="utf-8"))).given()
        resources = patient_resources(patient, reference_time=now)
        bodies.append(
            {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/bench", "patientId": resources[0]["id"]},
                "prefetch": _prefetch(resources),
            }
        )
    total = args.calls + args.warmup
    stamp = int(time.time())
    tokens = [
        jwt.encode(
            {"iss": ISSUER, "aud": url, "iat": stamp, "exp": stamp + 600, "jti": str(uuid.uuid4())},
            key,
            algorithm="ES384",
            headers={"kid": "k1", "typ": "JWT"},
        )
        for _ in range(total)
    ]
    payloads = [json.dumps(bodies[i % len(bodies)]).encode() for i in range(total)]
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "MESCC_DATA_DIR": tmp,
            "MESCC_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "MESCC_SECRET_KEY": "bench",
            "MESCC_CDS_CLIENTS": json.dumps(clients),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "mescc", "serve", "--port", str(port), "--no-access-log"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            times: list[float] = []
            sizes: list[int] = []
            with httpx.Client(timeout=10) as client:
                for i in range(total):
                    headers = {
                        "Authorization": f"Bearer {tokens[i]}",
                        "Content-Type": "application/json",
                    }
                    start = time.perf_counter()
                    response = client.post(url, content=payloads[i], headers=headers)
                    elapsed = time.perf_counter() - start
                    if response.status_code != 200:
                        raise SystemExit(f"call {i}: HTTP {response.status_code} {response.text}")
                    if i >= args.warmup:
                        times.append(elapsed * 1000)
                        sizes.append(len(payloads[i]))
        finally:
            server.terminate()
            server.wait(timeout=30)
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p / 100 * len(times)))]

    lines = [
        "# CDS Hooks patient-view latency (with prefetch)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/cds_hooks.py` on "
        f"{platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}; `mescc serve` one worker, SQLite (WAL, "
        "synchronous=FULL), loopback, sequential calls.",
        "",
        f"{len(times)} calls after {args.warmup} warm-up calls, cycling through the "
        f"{len(bodies)} example patients; prefetch bodies {min(sizes) // 1024}-"
        f"{max(sizes) // 1024} KiB. Each call: JWT (ES384) check and jti record, FHIR import, "
        "assessment with plan and decisive-unknown search, audit row, card (validated "
        "ServiceRequest suggestion).",
        "",
        "| p50 | p90 | p99 | max | mean | spec target |",
        "|---|---|---|---|---|---|",
        f"| {pct(50):.1f} ms | {pct(90):.1f} ms | {pct(99):.1f} ms | {times[-1]:.1f} ms | "
        f"{statistics.fmean(times):.1f} ms | about 500 ms |",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
