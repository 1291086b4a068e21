"""Every outbound call, as the caller may want to keep it: when, which service, method, path (never the
query, the headers or a body that carries a key), status, duration, and the counterpart's own words when it
said no. Whoever wants them opens `calls_recorded()`; without one, nothing is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .context_list import ContextList

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


_calls: ContextList[Call] = ContextList("calls_recorded")

# Whoever wants the calls opens `calls_recorded()` (a block collecting them) and may take them midway.
calls_recorded = _calls.collecting
calls_taken = _calls.taken


def call_record(call: Call) -> None:
    _calls.add(call)  # outside a block nothing is kept
