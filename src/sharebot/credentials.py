"""Credential values that never show themselves: in repr, logs or error messages they are masked."""

from __future__ import annotations


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
