"""Texts stored by an earlier release still read in the merchant's language. An order keeps its state
reason, error and timeline as a template and parameters; when a later release rewords a template, the rows
written before it still hold the old one. They are shown through today's sentence (a counterpart's words
behind Details, as today's rows), never as the English the old template was."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from orders.retired_texts import RETIRED
from orders.texts import said_of, text_from, translated
from tests.conftest import ROOT
from tests.test_catalogue import _entries

# Every template the order pipeline has written since this list began: what rows may hold.
STORED_TEMPLATES = ROOT / "tests" / "fixtures" / "stored_templates.json"

EF_WORDS = "EF answered 503: Service Unavailable"
# (template an earlier release stored, its parameters, what Dutch shows, what French shows)
STORED = [
    (
        "Gave up after %(attempts)s attempts: %(problem)s",
        {"attempts": 8, "problem": EF_WORDS},
        "Gestopt na 8 pogingen.",
        "Abandon après 8 tentatives.",
    ),
    (
        "Retrying at %(time)s, attempt %(attempt)s: %(problem)s",
        {"time": "10:15", "attempt": 3, "problem": EF_WORDS},
        "Nieuwe poging om 10:15 (poging 3).",
        "Nouvel essai à 10:15 (tentative 3).",
    ),
    (
        "%(what)s failed, trying again at %(time)s: %(problem)s",
        {"what": {"t": "Register the payment", "p": {}}, "time": "10:15:00", "problem": EF_WORDS},
        "nieuwe poging om 10:15:00",
        "nouvel essai à 10:15:00",
    ),
    ("EenvoudigFactureren refused: %(message)s", {"message": EF_WORDS}, "Geweigerd door", "Refusé par"),
    (
        "Peppol refused the %(document)s: %(message)s",
        {"document": {"t": "invoice", "p": {}}, "message": EF_WORDS},
        "Peppol weigerde de factuur.",
        "Peppol a refusé la facture.",
    ),
    (
        "The customer cannot be reached through Peppol (%(message)s) and e-mail instead is switched off.",
        {"message": EF_WORDS},
        "De klant is niet bereikbaar via Peppol",
        "Le client n'est pas joignable via Peppol",
    ),
    (
        "The customer is not on Peppol (%(message)s); e-mailing the %(document)s instead.",
        {"message": EF_WORDS, "document": {"t": "invoice", "p": {}}},
        "De klant zit niet op Peppol",
        "Le client n'est pas sur Peppol",
    ),
    (
        "EF refused the API key: %(problem)s",
        {"problem": EF_WORDS},
        "EF weigerde de API-sleutel.",
        "EF a refusé la clé API.",
    ),
    (
        "EF refused: %(problem)s",
        {"problem": EF_WORDS},
        "EF weigerde de klant of de factuur.",
        "EF a refusé le client",
    ),
    (
        "The order could not be read from KMO Shops: %(message)s",
        {"message": EF_WORDS},
        "De bestelling kon niet uit KMO Shops gelezen worden.",
        "La commande n'a pas pu être lue dans KMO Shops.",
    ),
    (
        "The order no longer exists in the shop: %(problem)s",
        {"problem": EF_WORDS},
        "De bestelling bestaat niet meer in de webshop.",
        "La commande n'existe plus dans la boutique.",
    ),
    (
        "Could not read the order: %(problem)s",
        {"problem": EF_WORDS},
        "Kon de bestelling niet uit KMO Shops lezen.",
        "Impossible de lire la commande dans KMO Shops.",
    ),
    (
        "Could not register the payment: %(problem)s",
        {"problem": EF_WORDS},
        "Kon de betaling niet",
        "le paiement.",
    ),
    (
        "Could not e-mail the invoice: %(problem)s",
        {"problem": EF_WORDS},
        "factuur niet mailen",
        "par e-mail.",
    ),
    (
        "EF e-mailed the invoice to %(email)s.",
        {"email": "an@x.example"},
        "mailde de factuur naar",
        "par e-mail à",
    ),
    (
        "Waiting for payment: the order is %(status)s. Orders are processed once they are %(wanted)s "
        "(Configuration → payment statuses).",
        {"wanted": "PAID", "status": "AWAITING_PAYMENT"},
        "de status „Wacht op betaling”",
        "la commande est « En attente de paiement »",
    ),
    (
        "Waiting for %(wanted)s, now %(status)s.",
        {"wanted": "PAID or CUSTOM_PAYMENT_STATUS_1", "status": "AWAITING_PAYMENT"},
        "Bestellingen worden verwerkt zodra ze de status „Betaald / Eigen status 1” hebben",
        "En attente de paiement : la commande est",
    ),
]


@pytest.mark.parametrize(("template", "params", "dutch", "french"), STORED, ids=[s[0][:40] for s in STORED])
def test_a_text_stored_by_an_earlier_release_reads_in_dutch_and_french(template, params, dutch, french):
    payload = {"t": template, "p": params}
    with translation.override("en"):  # whatever language an earlier test left active
        english = translated(payload, "")
    for language, expected in (("nl", dutch), ("fr", french)):
        with translation.override(language):
            shown = translated(payload, "")
        assert expected in shown and shown != english, (language, shown)
        assert EF_WORDS not in shown  # the counterpart's words stay behind Details
    if any(value == EF_WORDS for value in params.values()):
        assert said_of(payload) == [EF_WORDS]  # and are still there, for Details, support and the admin
        assert EF_WORDS in text_from(payload)


def test_every_retired_template_is_tried_above():
    assert set(RETIRED) == {stored[0] for stored in STORED}


def _templates_now() -> set[str]:
    """The catalogue's texts that the order pipeline's code writes (rows store them untranslated)."""
    po = ROOT / "locale" / "nl" / "LC_MESSAGES" / "django.po"
    return {e["msgid"] for e in _entries(po) if any(ref.startswith("orders/") for ref in e["refs"])}


def test_no_stored_template_is_reworded_without_a_mapping():
    """A template rows may hold leaves the code only with its entry in orders/retired_texts.py."""
    known = set(json.loads(STORED_TEMPLATES.read_text(encoding="utf-8")))
    now = _templates_now()
    gone = sorted(known - now - set(RETIRED))
    assert not gone, f"reworded without a mapping in orders/retired_texts.py: {gone}"
    new = sorted(now - known)
    assert not new, f"new templates: run `python -m tests.test_retired_texts` to add them to the list: {new}"


if __name__ == "__main__":  # adds today's templates to the list (it only grows)
    known = (
        set(json.loads(STORED_TEMPLATES.read_text(encoding="utf-8"))) if STORED_TEMPLATES.exists() else set()
    )
    STORED_TEMPLATES.write_text(
        json.dumps(sorted(known | _templates_now()), ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
