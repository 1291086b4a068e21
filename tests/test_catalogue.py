"""Every text we write has its Dutch and French (issue #20): the catalogues hold every msgid the code and
templates use, none untranslated or fuzzy, and the compiled .mo files say what the .po files say. A text
added without `make messages` and a translation fails here, before a merchant meets it in English."""

from __future__ import annotations

import ast
import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LANGUAGES = ("nl", "fr")
SOURCES = ("integration_site", "licenses", "orders", "dashboard", "connectors", "templates", "manage.py")
IGNORED = ("connectors/*",)  # the sandboxes speak as the real counterparts do: English (as in the Makefile)


def _entries(po: Path) -> list[dict]:
    """A .po file's entries: msgctxt, msgid, msgid_plural, msgstr (list), flags, refs (the files using it)."""
    entries, entry, field = [], None, None
    for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("#~"):
            continue
        if not line.strip():
            if entry and entry.get("msgid") is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        entry = entry if entry is not None else {"flags": set(), "msgstr": {}, "refs": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#:"):
            entry["refs"] |= {ref.rsplit(":", 1)[0] for ref in line[2:].split()}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(field, int):
                entry["msgstr"][field] += value
            else:
                entry[field] += value
        else:
            keyword, _, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            if keyword.startswith("msgstr"):
                field = int(keyword[7:-1]) if "[" in keyword else 0
                entry["msgstr"][field] = value
            else:
                field = keyword
                entry[field] = value
    return [e for e in entries if e["msgid"]]  # the header has an empty msgid


def _wanting(po: Path) -> list[str]:
    return [
        entry["msgid"][:80]
        for entry in _entries(po)
        if "fuzzy" in entry["flags"] or not all(entry["msgstr"].values())
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_is_translated_and_compiled(language):
    po = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    assert _wanting(po) == [], "untranslated or fuzzy: run `make messages` and translate"
    with open(po.with_suffix(".mo"), "rb") as file:
        compiled = gettext.GNUTranslations(file)._catalog
    stale = []
    for entry in _entries(po):
        key = entry["msgid"] if "msgctxt" not in entry else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            if compiled.get((key, 0)) != entry["msgstr"][0]:
                stale.append(key[:80])
        elif compiled.get(key) != entry["msgstr"][0]:
            stale.append(key[:80])
    assert stale == [], "the .mo is older than the .po: run `make messages`"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) is not installed")
def test_every_text_in_the_code_is_in_the_catalogue(tmp_path):
    """makemessages on a copy of the sources: it must find nothing the catalogues do not hold."""
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    shutil.copytree(ROOT / "locale", tmp_path / "locale")
    made = subprocess.run(
        [sys.executable, "manage.py", "makemessages", *[f"-l{lang}" for lang in LANGUAGES], "--no-obsolete"]
        + [f"--ignore={pattern}" for pattern in IGNORED],
        cwd=tmp_path,
        env={**os.environ, "DEBUG": "true"},
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    for language in LANGUAGES:
        po = tmp_path / "locale" / language / "LC_MESSAGES" / "django.po"
        assert _wanting(po) == [], f"texts without a {language} translation: run `make messages`"


def test_french_writes_one_apostrophe():
    """The French catalogue had both ' and ’ (l'état beside l’état on one page): one, the straight one."""
    po = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    mixed = [
        entry["msgid"][:60] for entry in _entries(po) if any("’" in text for text in entry["msgstr"].values())
    ]
    assert mixed == []
