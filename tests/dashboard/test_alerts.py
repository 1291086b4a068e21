"""Alerts by e-mail, in the merchant's language, each event mailed once: Errors digests, connection
incidents and recoveries, and the licence's milestones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from dashboard.alerts import alerts_send, connection_alerts, errors_alert, licence_alerts
from dashboard.models import Alert
from licenses.models import ConnectionStatus, Licence, LicenceState
from licenses.services import connection_failing
from orders.checks import check_email, check_total
from orders.ecwid_mapping import domain_order_from_ecwid
from orders.explanations import EXPLANATIONS
from orders.models import OrderState
from orders.outcomes import order_error
from tests.conftest import order_fixture
from tests.english import english_in
from tests.factories import licence_for, login, order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence():
    return licence_for(login("alerts@shop.example"), contact_email="alerts@shop.example", language="nl")


def errors(licence, count):
    return [order_for(licence, OrderState.ERROR, error_code="VAT_RATE_UNKNOWN") for _ in range(count)]


def test_five_errors_within_the_hour_make_one_digest_and_later_ones_wait_for_the_next_hour(licence):
    made = errors(licence, 5)
    assert alerts_send()["errors"] == 1
    [digest] = mail.outbox
    assert digest.to == ["alerts@shop.example"]
    assert digest.subject == f"{licence.company_name}: 5 bestellingen hebben u nodig"
    assert all(order.order_number in digest.body for order in made)
    assert (
        "Zo lost u het op:" in digest.body
        and f"/dashboard/{licence.key}/settings/configuration/" in digest.body
    )
    later = errors(licence, 2)
    assert alerts_send()["errors"] == 0 and len(mail.outbox) == 1  # within the hour: waits
    Alert.objects.filter(licence=licence).update(sent_at=timezone.now() - timedelta(minutes=61))
    assert alerts_send()["errors"] == 1
    assert [o.order_number in mail.outbox[1].body for o in later] == [True, True]
    assert made[0].order_number not in mail.outbox[1].body


def test_an_error_is_mailed_once_even_when_the_worker_runs_again_and_again_when_it_errs_anew(licence):
    Licence.objects.filter(pk=licence.pk).update(alert_errors="immediate")
    licence.refresh_from_db()
    [order] = errors(licence, 1)
    assert errors_alert(licence) == 1 and errors_alert(licence) == 0 and len(mail.outbox) == 1
    order.refresh_from_db()
    order_error(order, "EF_REJECTED", "EenvoudigFactureren refused: client_id unknown")
    assert errors_alert(licence) == 1 and len(mail.outbox) == 2


def test_errors_alerts_can_be_switched_off_and_speak_the_merchants_language(licence):
    errors(licence, 1)
    Licence.objects.filter(pk=licence.pk).update(alert_errors="off")
    assert alerts_send()["errors"] == 0
    Licence.objects.filter(pk=licence.pk).update(alert_errors="immediate", language="fr")
    alerts_send()
    assert mail.outbox[0].subject == f"{licence.company_name} : 1 commande a besoin de vous"


def test_a_connection_incident_is_one_mail_and_its_recovery_another(licence):
    Licence.objects.filter(pk=licence.pk).update(
        ef_status=ConnectionStatus.FAILING, ef_status_reason="authentication failed: invalid api key"
    )
    licence.refresh_from_db()
    assert connection_alerts(licence) == 1 and connection_alerts(licence) == 0
    red = mail.outbox[0]
    assert "EenvoudigFactureren" in red.subject
    assert "EenvoudigFactureren aanvaardt de API-sleutel niet meer" in red.body  # ours, not EF's English
    assert f"/dashboard/{licence.key}/settings/connections/" in red.body
    order_for(licence, OrderState.HANDLED)  # went on after the reconnect
    Licence.objects.filter(pk=licence.pk).update(ef_status=ConnectionStatus.OK, ef_status_reason="")
    licence.refresh_from_db()
    assert connection_alerts(licence) == 1 and connection_alerts(licence) == 0
    assert "1 bestelling werd gefactureerd" in mail.outbox[1].body
    Licence.objects.filter(pk=licence.pk).update(ef_status=ConnectionStatus.FAILING)
    licence.refresh_from_db()
    assert connection_alerts(licence) == 1 and len(mail.outbox) == 3  # a new incident


def test_trial_ending_expired_and_cancelled_are_each_mailed_once(licence):
    Licence.objects.filter(pk=licence.pk).update(trial_ends_at=timezone.now() + timedelta(days=5, hours=1))
    licence.refresh_from_db()
    assert licence_alerts(licence) == 1 and licence_alerts(licence) == 0
    assert "6 dagen" in mail.outbox[0].subject or "5 dagen" in mail.outbox[0].subject
    Licence.objects.filter(pk=licence.pk).update(trial_ends_at=timezone.now() + timedelta(hours=20))
    licence.refresh_from_db()
    assert licence_alerts(licence) == 1 and licence_alerts(licence) == 0
    Licence.objects.filter(pk=licence.pk).update(trial_ends_at=timezone.now() - timedelta(hours=1))
    licence.refresh_from_db()
    assert licence_alerts(licence) == 1 and licence_alerts(licence) == 0
    Licence.objects.filter(pk=licence.pk).update(state=LicenceState.CANCELLED, cancelled_at=timezone.now())
    licence.refresh_from_db()
    assert licence_alerts(licence) == 1 and licence_alerts(licence) == 0
    assert [a.kind for a in Alert.objects.filter(licence=licence).order_by("pk")] == [
        "trial_ending",
        "trial_ending",
        "expired",
        "cancelled",
    ]
    assert all(f"/dashboard/{licence.key}/settings/configuration/" in m.body for m in mail.outbox)


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_errors_mail_is_plain_text_in_the_merchants_language_with_each_fix(licence, language):
    """Plain text is not HTML: an apostrophe stays an apostrophe; the fix is translated as the page is."""
    Licence.objects.filter(pk=licence.pk).update(language=language)
    licence.refresh_from_db()
    for code, check in [("EMAIL_MISSING", check_email), ("TOTAL_MISMATCH", check_total)]:
        order = order_for(licence, OrderState.OPEN)
        failure = check(domain_order_from_ecwid(*_broken(code)))
        order_error(order, code, failure.message)
    assert errors_alert(licence) == 1
    [sent] = mail.outbox
    assert english_in(sent.subject + "\n" + sent.body, language) == []
    with translation.override(language):
        for code in ("EMAIL_MISSING", "TOTAL_MISMATCH"):
            assert str(EXPLANATIONS[code][2]) in sent.body  # as written: an apostrophe is not &#x27;


def _broken(code: str):
    case = order_fixture("a09" if code == "TOTAL_MISMATCH" else "a01")
    if code == "EMAIL_MISSING":
        case["order"]["email"] = ""
    return case["order"], case["store_profile"]


def test_a_connection_mail_says_what_failed_in_the_merchants_words_not_the_counterparts(licence):
    Licence.objects.filter(pk=licence.pk).update(language="fr")
    licence.refresh_from_db()
    connection_failing(licence, "ef", "authentication failed: invalid api key")
    connection_failing(licence, "shop", "The access token is invalid or revoked.")
    assert connection_alerts(licence) == 2
    for sent in mail.outbox:
        assert english_in(sent.subject + "\n" + sent.body, "fr") == []
        assert "Connexions" in sent.body  # the tab as the page names it
