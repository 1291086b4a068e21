"""Every outbound call, as the caller may want to keep it: when, which service, method, path (never the
query, the headers or a body that carries a key), status, duration, and the counterpart's own words when it
said no. Whoever wants them opens `calls_recorded()`; without one, nothing is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

ERROR_TEXT_MAX = 500


@dataclass(frozen=True)
class Call:
    at: datetime
    service: str
    method: str
    path: str
    status: int | None
    duration_ms: int
    error: str = ""


_recorder: ContextVar[list[Call] | None] = ContextVar("call_recorder", default=None)


@contextmanager
def calls_recorded() -> Iterator[list[Call]]:
    """Collect the calls made inside this block (in this thread or task)."""
    calls: list[Call] = []
    token = _recorder.set(calls)
    try:
        yield calls
    finally:
        _recorder.reset(token)


def call_record(call: Call) -> None:
    calls = _recorder.get()
    if calls is not None:
        calls.append(call)


def calls_taken() -> list[Call]:
    """The calls recorded so far in the open block, handed over (the block goes on with an empty list)."""
    calls = _recorder.get()
    if not calls:
        return []
    taken = list(calls)
    calls.clear()
    return taken
