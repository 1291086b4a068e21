"""The one error vocabulary every connector speaks: transient, permanent, authentication."""

from __future__ import annotations


class ConnectorError(Exception):
    """A counterpart could not do what we asked. `message` is safe to show (never holds secrets)."""

    kind = "error"

    def __init__(self, message: str, *, status: int | None = None, code: str = "", service: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.service = service

    def summary(self) -> str:
        parts = [self.service or "service", self.kind]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        return f"{' '.join(parts)}: {self.message}"


class TransientError(ConnectorError):
    """Try again later: network error, timeout, 5xx, 429 (with the server's Retry-After when given)."""

    kind = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """The request itself is wrong; repeating it will not help. `message` is the counterpart's own."""

    kind = "permanent"


class NotFoundError(PermanentError):
    """The thing asked for does not exist (404)."""

    kind = "not_found"


class AuthenticationError(ConnectorError):
    """The token or API key no longer works (or lacks the rights): the merchant must reconnect."""

    kind = "authentication"


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds; HTTP dates and garbage give None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)
