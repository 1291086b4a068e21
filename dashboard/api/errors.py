"""One error shape for every failure: `{"error": {"code": …, "message": …}}`, in the caller's language."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler


class Refused(APIException):
    """The same refusal a button gives (already invoiced, being processed …): 409."""

    status_code = 409
    default_code = "refused"


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        name, value = next(iter(detail.items()), ("", ""))
        text = _first_message(value)
        return f"{name}: {text}" if name and name != "non_field_errors" else text
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500, logged
    if isinstance(exc, ValidationError):
        code, message = "invalid", _first_message(exc.detail)
    elif isinstance(exc, APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        message = _first_message(exc.detail)
    else:  # Http404, PermissionDenied from Django
        code, message = (
            ("not_found" if response.status_code == 404 else "error"),
            _first_message(response.data),
        )
    response.data = {"error": {"code": code, "message": message}}
    return response
