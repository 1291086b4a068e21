"""Dashboard pages and actions, with two merchants in every test: the owner and charlie."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dashboard.models import Ticket
from licenses.models import MerchantAccess
from orders.models import OrderState
from orders.texts import Text, text_fields
from tests.factories import licence_for, login, order_for

PASSWORD = "correct horse battery staple"


@pytest.fixture
def owner(db):
    user = login("owner@shop.example")
    licence = licence_for(user)
    orders = {
        "handled": order_for(licence, OrderState.HANDLED, customer_name="Lotte Claes"),
        "error": order_for(licence, OrderState.ERROR),
        "open": order_for(licence, OrderState.OPEN),
    }
    return user, licence, orders


@pytest.fixture
def charlie(db):
    user = login("charlie@other.example")
    licence = licence_for(user)
    return user, licence, {"error": order_for(licence, OrderState.ERROR)}


def logged_in(client, user):
    client.force_login(user)
    return client


def key_urls(key: str) -> list[tuple[str, str]]:
    return [
        ("get", reverse("dashboard-tab", args=[key, "open"])),
        ("get", reverse("dashboard-tab", args=[key, "report"])),
        ("get", reverse("dashboard-tab", args=[key, "errors"])),
        ("get", reverse("dashboard-report-csv", args=[key])),
        ("get", reverse("dashboard-ask", args=[key])),
        ("post", reverse("dashboard-ask", args=[key])),
        ("get", reverse("dashboard-configuration", args=[key])),
        ("post", reverse("dashboard-configuration", args=[key])),
        ("get", reverse("dashboard-connections", args=[key])),
        ("post", reverse("dashboard-connections", args=[key])),
        ("post", reverse("dashboard-process", args=[key])),
        ("post", reverse("dashboard-ignore", args=[key])),
        ("post", reverse("dashboard-credit-reinvoice", args=[key])),
        ("post", reverse("dashboard-sync", args=[key])),
        ("get", reverse("dashboard-tickets", args=[key])),
        ("get", reverse("dashboard-api-keys", args=[key])),
        ("post", reverse("dashboard-api-keys", args=[key])),
        ("post", reverse("dashboard-backfill", args=[key])),
        ("post", reverse("dashboard-reconnect-shop", args=[key])),
        ("get", reverse("dashboard-installation", args=[key])),
    ]


def order_urls(key: str, pk: int) -> list[tuple[str, str]]:
    return [
        ("get", reverse("dashboard-order", args=[key, pk])),
        ("get", reverse("dashboard-invoice-pdf", args=[key, pk])),
        ("get", reverse("dashboard-order-calls", args=[key, pk])),
        ("post", reverse("dashboard-report-problem", args=[key, pk])),
        ("post", reverse("dashboard-refund-amount", args=[key, pk])),
    ]


def test_every_licence_url_is_404_for_another_merchant(client, owner, charlie):
    _, licence, orders = owner
    logged_in(client, charlie[0])
    for method, url in key_urls(licence.key) + order_urls(licence.key, orders["error"].pk):
        response = getattr(client, method)(url, {"message": "x", "orders": [orders["error"].pk]})
        assert response.status_code == 404, (method, url)


def test_the_list_of_licence_urls_above_holds_every_merchant_url():
    """A new dashboard URL is added to key_urls/order_urls, so the test above proves it is scoped."""
    from dashboard.urls import urlpatterns

    listed = {url for _, url in key_urls("KEY") + order_urls("KEY", 1)}
    for pattern in urlpatterns:
        names = set(pattern.pattern.converters)
        if "key" not in names:
            continue
        args = {"key": "KEY", "pk": 1, "tab": "open"}
        url = reverse(pattern.name, kwargs={name: args[name] for name in names})
        assert url in listed, f"{pattern.name} is not in key_urls/order_urls"


def test_another_merchants_order_is_404_under_ones_own_licence(client, owner, charlie):
    _, licence, orders = owner
    charlie_user, charlie_licence, _ = charlie
    logged_in(client, charlie_user)
    for method, url in order_urls(charlie_licence.key, orders["error"].pk):
        assert getattr(client, method)(url, {"message": "x"}).status_code == 404


def test_actions_with_another_merchants_order_ids_are_404_and_change_nothing(client, owner, charlie):
    _, licence, orders = owner
    charlie_user, charlie_licence, charlie_orders = charlie
    logged_in(client, charlie_user)
    for name in ("dashboard-process", "dashboard-ignore", "dashboard-credit-reinvoice"):
        for selection in (
            [orders["error"].pk, orders["open"].pk],
            [charlie_orders["error"].pk, orders["error"].pk],  # one of one's own beside another's
        ):
            response = client.post(reverse(name, args=[charlie_licence.key]), {"orders": selection})
            assert response.status_code == 404, (name, selection)
    charlie_orders["error"].refresh_from_db()
    assert charlie_orders["error"].state == OrderState.ERROR
    orders["error"].refresh_from_db()
    orders["open"].refresh_from_db()
    assert orders["error"].state == OrderState.ERROR and orders["open"].state == OrderState.OPEN
    assert not Ticket.objects.exists()


def test_pages_need_a_login(client, owner):
    _, licence, orders = owner
    for method, url in key_urls(licence.key) + order_urls(licence.key, orders["error"].pk):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_home_goes_to_the_first_licence(client, owner):
    user, licence, _ = owner
    response = logged_in(client, user).get(reverse("dashboard-home"))
    assert response["Location"] == reverse("dashboard-tab", args=[licence.key, "open"])


def test_tabs_show_the_right_orders(client, owner, charlie):
    user, licence, orders = owner
    logged_in(client, user)
    report = client.get(reverse("dashboard-tab", args=[licence.key, "report"])).content.decode()
    assert orders["handled"].ef_invoice_number in report
    assert orders["error"].order_number not in report
    errors = client.get(reverse("dashboard-tab", args=[licence.key, "errors"])).content.decode()
    assert "TOTAL_MISMATCH" in errors and orders["error"].order_number in errors
    assert charlie[2]["error"].order_number not in errors
    open_tab = client.get(reverse("dashboard-tab", args=[licence.key, "open"])).content.decode()
    assert "Waiting for PAID, now AWAITING_PAYMENT." in open_tab


def test_header_shows_key_state_days_left_and_dots(client, owner):
    user, licence, _ = owner
    page = logged_in(client, user).get(reverse("dashboard-tab", args=[licence.key, "open"])).content.decode()
    assert licence.key in page
    assert "29 days left" in page or "30 days left" in page
    assert 'id="dot-shop"><span class="dot ok">' in page
    assert 'id="dot-ef"><span class="dot ok">' in page


def test_period_defaults_to_this_month_and_can_be_changed(client, owner):
    user, licence, _ = owner
    old = order_for(licence, OrderState.HANDLED, handled_at=timezone.now() - timedelta(days=70))
    logged_in(client, user)
    url = reverse("dashboard-tab", args=[licence.key, "report"])
    assert old.order_number not in client.get(url).content.decode()
    earlier = (timezone.localdate() - timedelta(days=75)).isoformat()
    assert old.order_number in client.get(url, {"from": earlier}).content.decode()


def test_search_by_customer(client, owner):
    user, licence, orders = owner
    page = (
        logged_in(client, user)
        .get(reverse("dashboard-tab", args=[licence.key, "report"]), {"q": "lotte"})
        .content.decode()
    )
    assert orders["handled"].order_number in page
    page = client.get(
        reverse("dashboard-tab", args=[licence.key, "report"]), {"q": "nobody"}
    ).content.decode()
    assert orders["handled"].order_number not in page


def test_report_pages_by_fifty(client, owner):
    user, licence, _ = owner
    for _ in range(55):
        order_for(licence, OrderState.HANDLED)
    page = (
        logged_in(client, user).get(reverse("dashboard-tab", args=[licence.key, "report"])).content.decode()
    )
    assert "Page 1 of 2" in page


def test_csv_export_of_report(client, owner):
    user, licence, orders = owner
    order_for(licence, OrderState.HANDLED, customer_name='=HYPERLINK("http://evil")')
    response = logged_in(client, user).get(reverse("dashboard-report-csv", args=[licence.key]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "Order"
    numbers = {row[8] for row in rows[1:]}
    assert orders["handled"].ef_invoice_number in numbers
    assert all(not row[2].startswith("=") for row in rows[1:])
    assert orders["error"].order_number not in {row[0] for row in rows}


@pytest.mark.parametrize(
    ("language", "header", "total"),
    [("nl", "Bestelling", "12,34"), ("fr", "Commande", "12,34"), ("en", "Order", "12.34")],
)
def test_csv_export_opens_in_the_merchants_excel(client, owner, language, header, total):
    """UTF-8 with a BOM; Dutch and French Excel split on ';' and read decimal commas."""
    user, licence, orders = owner
    order_for(licence, OrderState.HANDLED, customer_name="Café Déjà-vu")
    response = logged_in(client, user).get(
        reverse("dashboard-report-csv", args=[licence.key]), HTTP_ACCEPT_LANGUAGE=language
    )
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    delimiter = "," if language == "en" else ";"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=delimiter))
    assert rows[0][0] == header and len(rows[0]) == 12
    assert {row[4] for row in rows[1:]} == {total}
    assert "Café Déjà-vu" in {row[2] for row in rows[1:]}


@pytest.mark.parametrize(
    ("language", "email", "credit"), [("nl", "e-mail", "-20,00"), ("en", "e-mail", "-20.00")]
)
def test_csv_export_says_how_each_invoice_went_out_and_its_credit_notes(
    client, owner, language, email, credit
):
    from orders.models import FollowUp

    user, licence, orders = owner
    handled = orders["handled"]
    FollowUp.objects.create(
        order=handled,
        key="send:1",
        kind=FollowUp.Kind.SEND,
        state=FollowUp.State.DONE,
        plan={"document": "invoice", "channel": "email"},
        result={"channel": "email"},
    )
    FollowUp.objects.create(
        order=handled,
        key="credit:refund:x",
        kind=FollowUp.Kind.CREDIT_NOTE,
        state=FollowUp.State.DONE,
        plan={"amount": "20.00"},
        result={"number": "2026-00051"},
    )
    response = logged_in(client, user).get(
        reverse("dashboard-report-csv", args=[licence.key]), HTTP_ACCEPT_LANGUAGE=language
    )
    delimiter = "," if language == "en" else ";"
    rows = list(
        csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=delimiter)
    )
    [row] = [row for row in rows[1:] if row[0] == handled.order_number]
    assert row[9:] == [email, f"2026-00051 ({credit})", ""]  # a refund replaces no invoice


def test_the_csv_export_streams_in_chunks_of_rows(client, owner, monkeypatch):
    monkeypatch.setattr("dashboard.views.CSV_CHUNK_ROWS", 10)
    user, licence, _ = owner
    for n in range(30):
        order_for(licence, OrderState.HANDLED, customer_name=f"Klant {n}")
    response = logged_in(client, user).get(reverse("dashboard-report-csv", args=[licence.key]))
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 4  # the header at once, then 31 rows in chunks of 10: nothing waits for all
    assert chunks[0].startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("tab", ["open", "report", "errors", "ignored"])
def test_list_pages_never_load_the_snapshot_and_cost_the_same_for_10_or_300_orders(client, owner, tab):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user, licence, _ = owner
    logged_in(client, user)
    url = reverse("dashboard-tab", args=[licence.key, tab])
    state = {"open": OrderState.OPEN, "report": OrderState.HANDLED, "errors": OrderState.ERROR}.get(
        tab, OrderState.IGNORED
    )

    def page_queries() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    for _ in range(10):
        order_for(licence, state)
    few = page_queries()
    for _ in range(290):
        order_for(licence, state)
    many = page_queries()
    assert len(few) == len(many)
    order_selects = [sql for sql in many if 'FROM "orders_order"' in sql and "COUNT" not in sql]
    assert order_selects and all('"snapshot"' not in sql for sql in order_selects)
    assert all('"ef_invoice_payload"' not in sql for sql in order_selects)


def test_a_broad_search_counts_only_ten_pages_past_the_one_asked_for(client, owner):
    from dashboard.selectors import Period, orders_for_tab, orders_page

    user, licence, _ = owner
    for n in range(120):
        order_for(licence, OrderState.HANDLED, customer_name=f"Zoeker {n}")
    orders = orders_for_tab(licence, "report", period=Period.this_month(), search="zoeker")
    first = orders_page(orders, "1", 5, search=True)
    assert first.paginator.count == 55 and first.paginator.count_capped  # 11 pages known, more exist
    assert [o.customer_name for o in first.object_list] == [f"Zoeker {n}" for n in range(119, 114, -1)]
    deep = orders_page(orders, "20", 5, search=True)
    assert deep.paginator.count == 120 and not deep.paginator.count_capped
    assert [o.customer_name for o in deep.object_list] == [f"Zoeker {n}" for n in range(24, 19, -1)]
    page = logged_in(client, user).get(
        reverse("dashboard-tab", args=[licence.key, "report"]), {"q": "zoeker"}
    )
    text = page.content.decode()
    assert "Page 1 of 3" in text and "Page 1 of 3+" not in text  # 50 a page: all 120 within the cap


def test_money_and_the_empty_e_mail_read_naturally(client, owner):
    user, licence, _ = owner
    order = order_for(
        licence, OrderState.HANDLED, customer_name="Marcel Wuyts", customer_email="", total="-5.00"
    )
    logged_in(client, user)
    nl = client.get(reverse("dashboard-order", args=[licence.key, order.pk]), HTTP_ACCEPT_LANGUAGE="nl")
    summary = nl.content.decode().split('id="order-summary">')[1].split("</p>")[0]
    assert summary == "Marcel Wuyts · € -5,00 · Betaald"
    en = client.get(reverse("dashboard-tab", args=[licence.key, "report"]), HTTP_ACCEPT_LANGUAGE="en")
    assert "€-5.00" in en.content.decode() and "€12.34" in en.content.decode()


def test_trial_shows_30_days_on_its_first_day(client, owner):
    user, licence, _ = owner
    page = logged_in(client, user).get(reverse("dashboard-tab", args=[licence.key, "open"])).content.decode()
    assert "30 days left" in page


def test_ignored_orders_have_their_own_tab_with_reason_and_undo(client, owner):
    user, licence, orders = owner
    logged_in(client, user)
    response = client.post(
        reverse("dashboard-ignore", args=[licence.key]), {"orders": [orders["error"].pk]}, follow=True
    )
    assert "find it under Ignored" in response.content.decode()
    page = client.get(reverse("dashboard-tab", args=[licence.key, "ignored"])).content.decode()
    assert orders["error"].order_number in page
    assert f"Ignored by {user.username} on " in page and "Process undoes it" in page
    found = client.get(
        reverse("dashboard-tab", args=[licence.key, "ignored"]), {"q": orders["error"].order_number}
    )
    assert orders["error"].order_number in found.content.decode()
    assert 'id="ignore-selected"' not in page and f'form="process-{orders["error"].pk}"' in page
    client.post(reverse("dashboard-process", args=[licence.key]), {"orders": [orders["error"].pk]})
    orders["error"].refresh_from_db()
    assert orders["error"].state == OrderState.QUEUED


def test_the_errors_tab_offers_more_info_report_problem_and_process_on_each_row(client, owner):
    user, licence, orders = owner
    page = (
        logged_in(client, user).get(reverse("dashboard-tab", args=[licence.key, "errors"])).content.decode()
    )
    pk = orders["error"].pk
    assert reverse("dashboard-order", args=[licence.key, pk]) + "#report-problem-card" in page
    assert f'form="process-{pk}"' in page and f'id="process-{pk}"' in page
    assert "return confirm(" in page  # Ignore asks first


def test_process_on_an_unpaid_order_says_why_it_waits(client, owner):
    user, licence, orders = owner
    unpaid = order_for(licence, OrderState.OPEN, payment_status="AWAITING_PAYMENT")
    response = logged_in(client, user).post(
        reverse("dashboard-process", args=[licence.key]),
        {"orders": [unpaid.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="nl",
    )
    page = response.content.decode()
    assert (
        "niet gewijzigd" in page
        and "Wacht op betaling: de bestelling heeft de status „Wacht op betaling”" in page
    )
    unpaid.refresh_from_db()
    assert unpaid.state == OrderState.OPEN


def test_custom_404_is_in_the_products_layout(client, owner):
    user, licence, _ = owner
    page = logged_in(client, user).get("/dashboard/NOPE/open/")
    assert page.status_code == 404
    assert 'id="not-found"' in page.content.decode() and "/dashboard/" in page.content.decode()


def test_a_dead_installation_link_says_what_to_do(client, db):
    response = client.get(reverse("install", args=["no-such-token"]), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    assert 'id="install-problem"' in response.content.decode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [("nl", "Open → In de wachtrij: opnieuw verwerkt op verzoek"), ("fr", "")],
)
def test_the_timeline_reads_in_the_merchants_language(client, owner, language, expected):
    from orders.actions import order_process_again

    user, licence, orders = owner
    order_process_again(licence=licence, order_ids=[orders["open"].pk], actor=user.username)
    page = (
        logged_in(client, user)
        .get(reverse("dashboard-order", args=[licence.key, orders["open"].pk]), HTTP_ACCEPT_LANGUAGE=language)
        .content.decode()
    )
    timeline = page.split('id="timeline"')[1]
    assert "Process pressed." not in timeline and "processed again on request" not in timeline
    if language == "nl":
        assert "Op Verwerken gedrukt." in timeline and expected in timeline
    else:
        assert "Traiter a été cliqué." in timeline and "traitée à nouveau sur demande" in timeline


def test_more_info_explains_and_shows_the_timeline(client, owner):
    user, licence, orders = owner
    page = (
        logged_in(client, user)
        .get(reverse("dashboard-order", args=[licence.key, orders["error"].pk]))
        .content.decode()
    )
    assert "The order total does not add up" in page
    assert "How to fix it" in page
    assert "order.created received" in page


def test_report_problem_makes_a_ticket_without_secrets(client, owner, django_capture_on_commit_callbacks):
    user, licence, orders = owner
    with django_capture_on_commit_callbacks(execute=True):
        logged_in(client, user).post(
            reverse("dashboard-report-problem", args=[licence.key, orders["error"].pk]), {"message": "help"}
        )
    ticket = Ticket.objects.get()
    assert ticket.order == orders["error"] and ticket.kind == "problem"
    text = json.dumps(ticket.context)
    assert "TOTAL_MISMATCH" in text and "timeline" in text and "configuration" in text
    assert licence.ef_api_key not in text and licence.shop_token not in text
    assert mail.outbox and licence.key in mail.outbox[0].subject
    assert licence.ef_api_key not in mail.outbox[0].body


def test_process_is_refused_for_invoiced_orders_and_queues_errors(client, owner):
    user, licence, orders = owner
    logged_in(client, user)
    response = client.post(
        reverse("dashboard-process", args=[licence.key]),
        {"orders": [orders["handled"].pk, orders["error"].pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "already invoiced" in page
    orders["handled"].refresh_from_db()
    orders["error"].refresh_from_db()
    assert orders["handled"].state == OrderState.HANDLED
    assert orders["error"].state == OrderState.QUEUED


def test_ignore_several(client, owner):
    user, licence, orders = owner
    logged_in(client, user).post(
        reverse("dashboard-ignore", args=[licence.key]), {"orders": [orders["error"].pk, orders["open"].pk]}
    )
    orders["error"].refresh_from_db()
    assert orders["error"].state == OrderState.IGNORED


def test_ask_us_makes_a_ticket_mails_support_and_a_copy_and_shows_it_under_tickets(
    client, owner, charlie, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://koppeling.example.be"
    settings.SUPPORT_EMAIL = "support@koppeling.example.be"
    user, licence, _ = owner
    logged_in(client, user)
    form = client.get(
        reverse("dashboard-ask", args=[licence.key]), HTTP_ACCEPT_LANGUAGE="nl"
    ).content.decode()
    assert '<label for="ask-message">' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("dashboard-ask", args=[licence.key]),
            {"message": "Hoe werkt …?"},
            HTTP_ACCEPT_LANGUAGE="nl",
        )
    ticket = Ticket.objects.get()
    assert ticket.kind == "question"
    assert response["Location"] == reverse("dashboard-tickets", args=[licence.key])
    to_support = next(m for m in mail.outbox if m.to == ["support@koppeling.example.be"])
    assert to_support.reply_to == [user.email]
    assert f"https://koppeling.example.be/admin/dashboard/ticket/{ticket.pk}/change/" in to_support.body
    copy = next(m for m in mail.outbox if m.to == [user.email])
    assert "Hoe werkt …?" in copy.body and f"#{ticket.pk}" in copy.subject
    assert "/tickets/" in copy.body
    page = client.get(reverse("dashboard-tickets", args=[licence.key])).content.decode()
    assert "Hoe werkt …?" in page and "Not answered yet" in page
    # Charlie sees none of it.
    charlie_user, charlie_licence, _ = charlie
    logged_in(client, charlie_user)
    assert client.get(reverse("dashboard-tickets", args=[licence.key])).status_code == 404
    assert (
        "Hoe werkt"
        not in client.get(reverse("dashboard-tickets", args=[charlie_licence.key])).content.decode()
    )


def test_configuration_is_validated_and_saved(client, owner):
    user, licence, _ = owner
    logged_in(client, user)
    url = reverse("dashboard-configuration", args=[licence.key])
    data = {
        "processable_statuses": ["PAID"],
        "process_from": "2026-01-01",
        "amounts": "excl",
        "reference_template": "Order {order_number}",
        "ef_layout_id": "8002",
        "send_invoice_email": "on",
        "vies_check": "on",
        "alert_errors": "daily",
        "language": "fr",
    }
    assert client.post(url, {**data, "reference_template": "Order {password}"}).status_code == 200
    licence.refresh_from_db()
    assert licence.reference_template == "{order_number}"
    assert client.post(url, data).status_code == 302
    licence.refresh_from_db()
    assert (
        licence.amounts,
        licence.reference_template,
        licence.ef_layout_id,
        licence.send_invoice_email,
        licence.alert_errors,
        licence.language,
    ) == ("excl", "Order {order_number}", 8002, True, "daily", "fr")
    assert (
        client.post(url, {**data, "ef_layout_id": "9999"}).status_code == 200
    )  # not one of the account's layouts


def test_connections_never_show_a_secret_in_full(client, owner):
    user, licence, _ = owner
    page = logged_in(client, user).get(reverse("dashboard-connections", args=[licence.key])).content.decode()
    assert licence.ef_api_key not in page and licence.shop_token not in page
    assert licence.ef_api_key[-4:] in page


def test_dropdown_lists_only_visible_licences_and_a_hidden_one_is_404(client, owner):
    user, licence, _ = owner
    second = licence_for(user, company_name="Tweede winkel")
    old = licence_for(user, company_name="Oude winkel")
    MerchantAccess.objects.filter(licence=old).update(hidden=True)
    logged_in(client, user)
    page = client.get(reverse("dashboard-tab", args=[licence.key, "open"])).content.decode()
    assert second.key in page and old.key not in page
    assert client.get(reverse("dashboard-tab", args=[old.key, "open"])).status_code == 404


def test_failed_logins_are_throttled(client, owner, settings):
    user, _, _ = owner
    url = reverse("login")
    for _ in range(settings.LOGIN_FAILURES_ALLOWED):
        assert client.post(url, {"username": user.username, "password": "wrong"}).status_code == 200
    response = client.post(url, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()


def test_failed_logins_from_one_address_are_throttled_across_user_names(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for n in range(3):
        client.post(reverse("login"), {"username": f"guess{n}@x.example", "password": "nope"})
    user, _, _ = owner
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429


def test_login_works(client, owner):
    user, _, _ = owner
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_an_action_without_a_selection_says_so(client, owner):
    user, licence, _ = owner
    response = logged_in(client, user).post(reverse("dashboard-process", args=[licence.key]), follow=True)
    assert "Select at least one order." in response.content.decode()


def test_actions_never_redirect_to_another_site(client, owner):
    user, licence, orders = owner
    response = logged_in(client, user).post(
        reverse("dashboard-ignore", args=[licence.key]),
        {"orders": [orders["error"].pk], "next": "https://evil.example/x"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/{licence.key}/errors/"


def test_password_reset_by_email(client, owner):
    user, _, _ = owner
    response = client.post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert mail.outbox and "/password/set/" in mail.outbox[0].body


def test_an_invoiced_order_in_errors_offers_process_and_not_ignore(client, owner):
    user, licence, _ = owner
    stuck = order_for(licence, OrderState.ERROR, ef_invoice_id=5999, error_code="EF_UNREACHABLE")
    page = (
        logged_in(client, user).get(reverse("dashboard-order", args=[licence.key, stuck.pk])).content.decode()
    )
    assert 'id="process-order"' in page and 'id="invoiced-unfinished"' in page
    assert reverse("dashboard-ignore", args=[licence.key]) not in page
    response = client.post(
        reverse("dashboard-process", args=[licence.key]), {"orders": [stuck.pk]}, follow=True
    )
    assert "already invoiced" not in response.content.decode()
    stuck.refresh_from_db()
    assert stuck.state == OrderState.QUEUED and stuck.ef_invoice_id == 5999


def test_an_order_ignored_before_the_start_date_is_found_on_ignored(client, owner):
    """Installed on the 15th, the shop's older orders are Ignored: the tab shows them whatever their date,
    and its reason gives the start date as the merchant's language writes dates (#20.4, #20.6)."""
    user, licence, _ = owner
    long_ago = timezone.now() - timedelta(days=75)
    order = order_for(
        licence,
        OrderState.IGNORED,
        order_created_at=long_ago,
        **text_fields(
            state_reason=Text(
                "Created before %(when)s, the start date in the configuration.", when="2026-11-15 10:00"
            )
        ),
    )
    page = logged_in(client, user).get(
        reverse("dashboard-tab", args=[licence.key, "ignored"]), HTTP_ACCEPT_LANGUAGE="nl"
    )
    html = page.content.decode()
    assert f'data-order="{order.order_number}"' in html
    assert "Aangemaakt vóór 15-11-2026 10:00" in html and "2026-11-15" not in html.split("<table")[1]
    detail = logged_in(client, user).get(
        reverse("dashboard-order", args=[licence.key, order.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    )
    timeline = detail.content.decode().split('id="timeline"')[1].split("</table>")[0]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", timeline)  # the timeline's dates as French writes them too


def test_an_empty_period_says_where_the_tabs_orders_are(client, owner):
    user, licence, orders = owner
    page = logged_in(client, user).get(
        reverse("dashboard-tab", args=[licence.key, "report"]), {"from": "2020-01-01", "to": "2020-01-31"}
    )
    html = page.content.decode()
    today = timezone.localdate().strftime("%d/%m/%Y")
    assert f"Show the 1 order from {today} to {today}." in html
    shown = client.get(
        reverse("dashboard-tab", args=[licence.key, "report"])
        + re.search(r'id="show-elsewhere" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    )
    assert f'data-order="{orders["handled"].order_number}"' in shown.content.decode()


@pytest.mark.parametrize("where", ["report-problem", "ask"])
def test_a_message_longer_than_a_ticket_holds_is_given_back_whole_not_cut(client, owner, where):
    user, licence, orders = owner
    message = ("Het totaal klopt niet. " * 300).strip()  # 6,899 characters
    if where == "ask":
        url = reverse("dashboard-ask", args=[licence.key])
    else:
        url = reverse("dashboard-report-problem", args=[licence.key, orders["error"].pk])
    response = logged_in(client, user).post(url, {"message": message}, HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 400
    page = response.content.decode()
    assert "6.899 tekens" in page and "5.000" in page  # says how long, and the limit
    assert message in page  # back in its box, whole, to be shortened
    assert not Ticket.objects.filter(licence=licence).exists() and mail.outbox == []


def test_a_connection_that_fails_after_installation_is_not_an_unfinished_installation(client, owner):
    """#20.3: the banner sends the merchant to ReConnect under Connections, not back to the installation."""
    from licenses.services import connection_failing

    user, licence, _ = owner
    connection_failing(licence, "ef", "authentication failed: invalid api key")
    page = (
        logged_in(client, user)
        .get(reverse("dashboard-tab", args=[licence.key, "open"]), HTTP_ACCEPT_LANGUAGE="nl")
        .content.decode()
    )
    assert "De installatie is nog niet voltooid" not in page and 'id="installation-unfinished"' not in page
    banner = page.split('id="connection-failing"')[1].split("</div>")[0]
    assert "Klik op Opnieuw koppelen onder Koppelingen" in banner
    assert reverse("dashboard-connections", args=[licence.key]) in banner
    assert "invalid api key" not in page  # EF's words only on Connections, behind Details
