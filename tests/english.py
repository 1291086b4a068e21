"""Finds English a Dutch or French merchant must never read: any of our own texts left untranslated
(every entry of the language's catalogue whose translation differs from the English), the counterparts'
own English words, and HTML entities in plain text."""

from __future__ import annotations

import gettext
import re
from functools import cache

from tests.conftest import ROOT

# What KMO Shops, EF and VIES say in their own words (the sandboxes speak them as the real ones do).
COUNTERPART_ENGLISH = [
    "access token is invalid",
    "authentication failed",
    "invalid api key",
    "not registered on the Peppol network",
    "Bad Request",
    "internal server error",
    "too many requests",
]
ENTITY = re.compile(r"&(#x?[0-9a-fA-F]+|[a-zA-Z]+);")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%[sd]|\{\{[^}]*\}\}")
# A fragment this short ("Open", "Status:") is often the same word in Dutch or French: not evidence.
SHORTEST_WORDS = 4


@cache
def _english_fragments(language: str) -> tuple[str, ...]:
    with open(ROOT / "locale" / language / "LC_MESSAGES" / "django.mo", "rb") as file:
        catalog = gettext.GNUTranslations(file)._catalog
    fragments: set[str] = set()
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or msgid == msgstr:
            continue
        for part in PLACEHOLDER.split(msgid.split("\x04")[-1]):
            for sentence in re.split(r"(?<=[.:;!?])\s+|\n", part):
                sentence = sentence.strip(' .,:;()[]"“”')
                if len(sentence.split()) >= SHORTEST_WORDS and sentence not in msgstr:
                    fragments.add(sentence)
    return tuple(sorted(fragments, key=len, reverse=True))


def english_in(text: str, language: str) -> list[str]:
    """The English (and HTML entities) in a text meant for a Dutch or French reader; empty when none."""
    found = [entity.group(0) for entity in ENTITY.finditer(text)]
    found += [phrase for phrase in COUNTERPART_ENGLISH if phrase.lower() in text.lower()]
    if language != "en":
        found += [fragment for fragment in _english_fragments(language) if fragment in text]
    return found
