"""Staff work in the Django admin: search, licence actions (logged), orders with timeline, no secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.utils import timezone

from licenses.models import Licence, LicenceState
from orders.models import Order, OrderState
from tests.factories import licence_for, login, order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_superuser("staff", "staff@support.example", "pw")
    client.force_login(staff)
    return client


@pytest.fixture
def licence():
    return licence_for(login("merchant@shop.example"), company_name="Koffie BV")


@pytest.mark.parametrize("term", ["key", "email", "store"])
def test_licences_can_be_found_by_key_email_or_store(staff_client, licence, term):
    query = {"key": licence.key, "email": "merchant@shop.example", "store": str(licence.store_id)}[term]
    page = staff_client.get("/admin/licenses/licence/", {"q": query}).content.decode()
    assert licence.key in page


def test_licence_page_never_shows_secrets(staff_client, licence):
    page = staff_client.get(f"/admin/licenses/licence/{licence.pk}/change/").content.decode()
    assert licence.ef_api_key not in page and licence.shop_token not in page
    assert licence.ef_api_key[-4:] in page
    # The installation link opens the wizard without a login: staff see its end and when it was sent.
    assert licence.install_token not in page and licence.install_token[-4:] in page


def test_activate_is_logged_and_resumes_held_orders(
    staff_client, licence, django_capture_on_commit_callbacks
):
    Licence.objects.filter(pk=licence.pk).update(trial_ends_at=timezone.now() - timedelta(days=1))
    held = order_for(
        licence, OrderState.OPEN, wait_code="licence", state_reason="Held: the licence is expired"
    )
    with django_capture_on_commit_callbacks(execute=True) as resumed:  # the resume runs as a task
        response = staff_client.post(
            "/admin/licenses/licence/",
            {"action": "activate_one_year", "_selected_action": [licence.pk]},
            follow=True,
        )
    assert resumed
    assert response.status_code == 200
    licence.refresh_from_db()
    assert licence.state == LicenceState.ACTIVE and licence.paid_until > timezone.now() + timedelta(days=360)
    assert LogEntry.objects.filter(object_id=str(licence.pk), change_message__startswith="Activated").exists()
    held.refresh_from_db()
    assert held.wait_code == "" and held.state != OrderState.OPEN
    assert held.events.filter(message__contains="→ Queued").exists()


def test_cancel_and_extend_are_logged(staff_client, licence):
    staff_client.post(
        "/admin/licenses/licence/", {"action": "extend_thirty_days", "_selected_action": [licence.pk]}
    )
    staff_client.post("/admin/licenses/licence/", {"action": "cancel", "_selected_action": [licence.pk]})
    licence.refresh_from_db()
    assert licence.state == LicenceState.CANCELLED
    assert LogEntry.objects.filter(object_id=str(licence.pk)).count() == 2


def test_order_page_shows_timeline_and_raw_snapshot(staff_client, licence):
    order = order_for(licence, OrderState.ERROR)
    page = staff_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "order.created received" in page and order.order_number in page and "snapshot" in page


def test_order_page_shows_follow_ups_with_efs_answer(staff_client, licence):
    from orders.models import FollowUp

    order = order_for(licence, OrderState.ERROR, error_code="PEPPOL_REJECTED")
    FollowUp.objects.create(
        order=order,
        key="send:1",
        kind=FollowUp.Kind.SEND,
        state=FollowUp.State.FAILED,
        plan={"channel": "peppol"},
        error_code="PEPPOL_REJECTED",
        ef_answer="peppol document rejected: [BR-27]",
    )
    page = staff_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "send:1" in page and "[BR-27]" in page


def test_staff_can_hide_an_old_licence_from_a_merchants_dropdown(staff_client, licence):
    from licenses.models import MerchantAccess

    access = MerchantAccess.objects.get(licence=licence)
    page = staff_client.get("/admin/licenses/merchantaccess/").content.decode()
    assert licence.key in page and "Remove from the merchant&#x27;s dropdown" in page
    response = staff_client.post(
        "/admin/licenses/merchantaccess/",
        {"action": "remove_from_dropdown", "_selected_action": [access.pk]},
        follow=True,
    )
    assert f"no longer shows licence {licence.key}" in response.content.decode()
    assert not Licence.objects.filter(access__user=access.user, access__hidden=False).exists()


def test_webhook_events_are_found_by_order_number(staff_client, licence):
    from orders.models import WebhookEvent

    WebhookEvent.objects.create(
        event_id="e-1", event_type="order.created", store_id=1, body={"data": {"orderId": "ZX81Q"}}
    )
    WebhookEvent.objects.create(
        event_id="e-2", event_type="order.created", store_id=1, body={"data": {"orderId": "OTHER"}}
    )
    page = staff_client.get("/admin/orders/webhookevent/", {"q": "ZX81Q"}).content.decode()
    assert "ZX81Q" in page and "OTHER" not in page


def test_process_again_from_admin_refuses_invoiced_orders(staff_client, licence):
    invoiced = order_for(licence, OrderState.HANDLED)
    failed = order_for(licence, OrderState.ERROR)
    response = staff_client.post(
        "/admin/orders/order/",
        {"action": "process_again", "_selected_action": [invoiced.pk, failed.pk]},
        follow=True,
    )
    assert "already invoiced" in response.content.decode()
    failed.refresh_from_db()
    assert failed.state == OrderState.QUEUED
    assert LogEntry.objects.filter(object_id=str(failed.pk)).exists()


def test_a_staff_answer_reaches_the_merchant_by_mail_and_on_the_tickets_page(staff_client, licence, client):
    from django.core import mail

    from dashboard.models import Ticket
    from licenses.models import MerchantAccess

    merchant = MerchantAccess.objects.get(licence=licence).user
    ticket = Ticket.objects.create(
        licence=licence, kind="question", message="Waar vind ik X?", created_by=merchant
    )
    staff_client.post(
        f"/admin/dashboard/ticket/{ticket.pk}/change/",
        {"status": "open", "answer": "Onder Rapport."},
        follow=True,
    )
    ticket.refresh_from_db()
    assert ticket.answer == "Onder Rapport." and ticket.status == "answered" and ticket.answered_at
    [answer_mail] = [m for m in mail.outbox if m.to == [merchant.email]]
    assert "Onder Rapport." in answer_mail.body
    # In the merchant's language (the licence's), not the staff member's admin language (#20.1).
    assert licence.language == "nl" and answer_mail.subject.startswith("Antwoord op ticket")
    client.force_login(merchant)
    page = client.get(f"/dashboard/{licence.key}/tickets/").content.decode()
    assert "Onder Rapport." in page


ACTIONS = [
    ("licenses", "licence", "cancel"),
    ("licenses", "licence", "activate_one_year"),
    ("licenses", "licence", "extend_thirty_days"),
    ("licenses", "merchantaccess", "remove_from_dropdown"),
    ("orders", "order", "process_again"),
    ("orders", "order", "ignore"),
    ("dashboard", "apikey", "revoke"),
]


@pytest.fixture
def viewer_client(client):
    """A support colleague allowed to look, not to change (#19.7)."""
    from django.contrib.auth.models import Permission

    viewer = get_user_model().objects.create_user("viewer", "viewer@support.example", "pw", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    return client


def _target(app: str, model: str, licence: Licence):
    from dashboard.api.keys import api_key_create
    from licenses.models import MerchantAccess

    if model == "licence":
        return licence
    if model == "merchantaccess":
        return MerchantAccess.objects.get(licence=licence)
    if model == "order":
        return order_for(licence, OrderState.ERROR)
    return api_key_create(licence=licence, name="Script")[0]


@pytest.mark.parametrize(("app", "model", "action"), ACTIONS)
def test_a_view_only_staff_user_can_neither_see_nor_run_an_action(viewer_client, licence, app, model, action):
    target = _target(app, model, licence)
    before = {f.attname: getattr(target, f.attname) for f in target._meta.concrete_fields}
    url = f"/admin/{app}/{model}/"
    page = viewer_client.get(url)
    assert page.status_code == 200 and f'value="{action}"' not in page.content.decode()
    viewer_client.post(url, {"action": action, "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert {f.attname: getattr(target, f.attname) for f in target._meta.concrete_fields} == before


@pytest.mark.parametrize(("app", "model", "action"), ACTIONS)
def test_staff_with_the_change_permission_see_every_action(staff_client, licence, app, model, action):
    _target(app, model, licence)
    assert f'value="{action}"' in staff_client.get(f"/admin/{app}/{model}/").content.decode()


def test_orders_and_their_oss_evidence_cannot_be_deleted_from_the_admin(staff_client, licence):
    """OSS records (and every invoice's order) are kept 10 years: no delete, not one by one nor in bulk."""
    order = order_for(licence, OrderState.HANDLED, oss_evidence={"country": "NL"})
    assert staff_client.get(f"/admin/orders/order/{order.pk}/delete/").status_code == 403
    assert staff_client.get(f"/admin/licenses/licence/{licence.pk}/delete/").status_code == 403
    page = staff_client.get("/admin/licenses/licence/").content.decode()
    assert 'value="delete_selected"' not in page
    assert Order.objects.filter(pk=order.pk).exists()
