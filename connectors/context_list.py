"""A list that code deep in the call stack adds to while a block is open (per thread or asyncio task), and
that the block's owner takes: the outbound calls a worker attempt made, the timeline lines it wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

T = TypeVar("T")


class ContextList(Generic[T]):  # noqa: UP046 - Python 3.11 has no type parameter lists
    def __init__(self, name: str) -> None:
        self._current: ContextVar[list[T] | None] = ContextVar(name, default=None)

    @contextmanager
    def collecting(self) -> Iterator[list[T]]:
        """Collect what is added inside this block; the list is the block's."""
        items: list[T] = []
        token = self._current.set(items)
        try:
            yield items
        finally:
            self._current.reset(token)

    def add(self, item: T) -> bool:
        """Add to the open block's list; False when no block is open (the caller then does without)."""
        items = self._current.get()
        if items is None:
            return False
        items.append(item)
        return True

    def taken(self) -> list[T]:
        """What was added so far in the open block, handed over (the block goes on with an empty list)."""
        items = self._current.get()
        if not items:
            return []
        taken = list(items)
        items.clear()
        return taken
