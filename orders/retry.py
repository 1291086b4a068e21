"""When to try a transiently failed order again: capped exponential backoff that honours Retry-After."""

from __future__ import annotations


def retry_delay_seconds(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Delay before attempt `attempt + 1`; `attempt` counts from 1. Never shorter than Retry-After."""
    backoff = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(backoff, retry_after or 0.0)
