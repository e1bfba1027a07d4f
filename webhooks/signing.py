"""Signatures of webhook bodies.

`X-Baton-Signature` (the contract): lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the UTF-8 secret.
Standard Webhooks (`webhook-signature`): `v1,` + base64 HMAC-SHA256 of `"{webhook-id}.{webhook-timestamp}.{body}"`.
Its key is the secret's bytes, except that a secret in the Standard Webhooks form `whsec_<base64>` is keyed with
the decoded bytes, so the standard verification libraries accept our signatures as they are.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

STANDARD_SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret


def baton_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes:
    if secret.startswith(STANDARD_SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(STANDARD_SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode("utf-8")


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_baton_signature(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver runs (the contract's `verify_webhook`)."""
    return hmac.compare_digest(baton_signature(secret, body), signature)


def verify_standard_signature(secret: str, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """True when any `v1,` entry of a space-separated `webhook-signature` header matches."""
    expected = standard_signature(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
