"""A test CDS client: an EC P-384 key pair, its JWK Set and signed CDS Hooks JWTs (ES384)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ISSUER = "https://ehr.test.invalid/"
KID = "test-ehr-key-1"


class TestClientKeys:
    """A key pair and the JWTs a CDS client would send (``aud`` = the endpoint called)."""

    __test__ = False  # not a pytest class

    def __init__(self, issuer: str = ISSUER, kid: str = KID) -> None:
        self.issuer = issuer
        self.kid = kid
        self.private_key = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(ECAlgorithm.to_jwk(self.private_key.public_key()))
        self.jwks: dict[str, Any] = {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "ES384"}]}

    def client_config(self) -> dict[str, Any]:
        """This client's entry of ``MESCC_CDS_CLIENTS``."""
        return {"issuer": self.issuer, "jwks": self.jwks, "label": "test EHR"}

    def token(self, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "test-ehr",
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        headers = {"kid": self.kid, "typ": "JWT"}
        return jwt.encode(claims, self.private_key, algorithm="ES384", headers=headers)

    def headers(self, audience: str, **overrides: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(audience, **overrides)}"}
