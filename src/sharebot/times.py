"""Moments in UTC: the one place naive and zoned datetimes are brought to aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(moment: datetime) -> datetime:
    """Aware UTC. A naive datetime is taken to be UTC already (what SQLite columns and some APIs hand back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def aware_utc(moment: datetime | None, name: str) -> datetime:
    """Aware UTC, refusing a naive or missing value: for inputs where guessing the zone would hide a bug."""
    if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
    return moment.astimezone(UTC)
