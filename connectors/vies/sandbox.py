"""VIES sandbox: answers valid / invalid / unavailable per number (or a default), in both shapes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from ..sandbox_server import Request, Response, SandboxApp, json_response


class ViesSandbox(SandboxApp):
    name = "vies-sandbox"

    def __init__(self, default: str = "valid") -> None:
        super().__init__()
        self.default = default
        self.answers: dict[str, str] = {}  # "NL528713218B01" -> valid | invalid | unavailable | <error code>
        self.error_style = "wrapper"  # or "user_error": how "unavailable" is reported
        self.checks: list[str] = []
        self._ids = itertools.count(1)
        self.route("POST", r"/check-vat-number", self.check)
        self.route("GET", r"/ms/(?P<country>[A-Z]{2})/vat/(?P<number>[^/]+)", self.check_get)
        self.route("POST", r"/_sandbox/answers", self.ctl_answers)
        self.route("GET", r"/_sandbox/checks", self.ctl_checks)

    def _verdict(self, country: str, number: str) -> str:
        with self.lock:
            self.checks.append(country + number)
            return self.answers.get(country + number, self.default)

    def _answer(self, country: str, number: str, verdict: str, legacy: bool) -> Response:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if verdict not in ("valid", "invalid"):
            code = "MS_UNAVAILABLE" if verdict == "unavailable" else verdict
            if self.error_style == "user_error":
                return json_response(
                    {"isValid": False, "valid": False, "userError": code, "requestDate": now}
                )
            return json_response(
                {"actionSucceed": False, "errorWrappers": [{"error": code, "message": code}]}, 500
            )
        valid = verdict == "valid"
        body = {
            "countryCode": country,
            "vatNumber": number,
            "requestDate": now,
            "valid": valid,
            "requestIdentifier": f"WAPI{next(self._ids):010d}" if valid else "",
            "name": "Sandbox company" if valid else "---",
            "address": "---",
        }
        if legacy:
            body = {"isValid": valid, "userError": "VALID" if valid else "INVALID", **body}
            del body["valid"]
        return json_response(body)

    def check(self, request: Request) -> Response:
        body = request.json() or {}
        country, number = str(body.get("countryCode", "")), str(body.get("vatNumber", ""))
        if not country or not number:
            return json_response({"actionSucceed": False, "errorWrappers": [{"error": "INVALID_INPUT"}]}, 400)
        return self._answer(country, number, self._verdict(country, number), legacy=False)

    def check_get(self, request: Request) -> Response:
        country, number = request.params["country"], request.params["number"]
        return self._answer(country, number, self._verdict(country, number), legacy=True)

    def ctl_answers(self, request: Request) -> Response:
        body = request.json() or {}
        with self.lock:
            self.default = body.get("default", self.default)
            self.error_style = body.get("error_style", self.error_style)
            self.answers.update(body.get("numbers") or {})
        return json_response({"ok": True})

    def ctl_checks(self, request: Request) -> Response:
        with self.lock:
            return json_response(list(self.checks))
