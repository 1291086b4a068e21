"""Every sentence names our tabs and buttons exactly as the page shows them, in every language (issue #20,
item 6): "press ReConnect under Connections" must read "Opnieuw koppelen" and "Koppelingen" in Dutch, as the
button and the tab do, never a synonym a merchant then looks for in vain."""

from __future__ import annotations

import gettext
import re

import pytest

from tests.conftest import ROOT

# The names as the templates translate them (button and tab labels).
NAMES = [
    "ReConnect",
    "Connect",
    "Process",
    "Ignore",
    "Report problem",
    "Ask us",
    "Connections",
    "Configuration",
    "Errors",
    "Report",
    "Tickets",
    "Credit and re-invoice",
    "Look for new orders now",
    "More info",
    "Make the credit note",
]
NAMED = re.compile(
    r"\b(?:press|under|use|click|with|on|the|in)\s+("
    + "|".join(re.escape(n) for n in NAMES)
    + r")\b(?![-\w])"
)
PREFIX_ONLY = {"Connect": "ReConnect"}  # "Connect" inside "ReConnect" is not the Connect button


def _catalog(language: str) -> dict:
    with open(ROOT / "locale" / language / "LC_MESSAGES" / "django.mo", "rb") as file:
        return gettext.GNUTranslations(file)._catalog


def _misnamed(language: str) -> list[str]:
    catalog = _catalog(language)
    wrong = []
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or "\x04" in msgid:
            continue
        for name in {match.group(1) for match in NAMED.finditer(msgid)}:
            label = catalog.get(name, name)
            if label.lower() not in msgstr.lower():
                wrong.append(f"{name} → {label!r} missing in: {msgstr!r}")
    return wrong


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_sentences_name_tabs_and_buttons_as_the_page_does(language):
    assert _misnamed(language) == []
