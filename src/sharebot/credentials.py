"""Credential values that never show themselves: in repr, logs or error messages they are masked."""

from __future__ import annotations

from collections.abc import Mapping


class Secret(str):
    """A credential value. Behaves as a str for the SDKs, but never shows itself in repr or logs."""

    def __repr__(self) -> str:
        return "Secret('****')"

    def masked(self) -> str:
        return mask(self)


def mask(value: str) -> str:
    """`ab…yz` style masking: enough to tell two tokens apart, never enough to use one."""
    if len(value) <= 12:
        return "****"
    return f"{value[:2]}…{value[-2:]}"


def fingerprint(values: Mapping[str, str], salt: str | None = None) -> str:
    """`salt$digest`: names one set of credential values without revealing any (an HMAC-SHA256 keyed by
    the salt; a fresh random salt unless one is given). Stored with an account flag, so that different
    credentials are recognised at the next use and clear the flag."""
    import hashlib
    import hmac
    import secrets

    salt = salt or secrets.token_hex(8)
    material = "\0".join(f"{name}={values[name]}" for name in sorted(values))
    return f"{salt}${hmac.new(salt.encode(), material.encode(), hashlib.sha256).hexdigest()}"


def same_credentials(stored: str, values: Mapping[str, str]) -> bool:
    """Were these the credentials `stored` (a `fingerprint`) was made from?"""
    import hmac

    salt = stored.split("$", 1)[0]
    return hmac.compare_digest(fingerprint(values, salt), stored)
