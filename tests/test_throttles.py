"""Throttles keep their whole window, whatever the cache (issue #19, item 6): a 15-minute login lock is not
forgotten after Django's default cache timeout of 5 minutes; password resets and tickets are limited too."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.cache.backends import base as base_cache
from django.core.cache.backends import db as db_cache
from django.urls import reverse
from django.utils import timezone

from dashboard.models import Ticket
from licenses import throttle
from tests.factories import licence_for, login

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def clock(monkeypatch):
    """Move the wall clock that the throttles (and Django's database cache) read."""
    real_now, real_time = timezone.now, time.time
    offset = {"by": timedelta(0)}
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset["by"])
    # Django's database cache reads the clock through these two (a cached count's expiry).
    monkeypatch.setattr(db_cache, "tz_now", lambda: real_now() + offset["by"])
    shifted = SimpleNamespace(time=lambda: real_time() + offset["by"].total_seconds())
    monkeypatch.setattr(base_cache, "time", shifted)

    def forward(**delta: float) -> None:
        offset["by"] += timedelta(**delta)

    return forward


def test_a_login_lock_lasts_its_15_minutes(client, clock, settings):
    user = login("locked@shop.example")
    for _ in range(settings.LOGIN_FAILURES_ALLOWED):
        client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    clock(minutes=6)  # past the cache's default timeout of 300 s
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    clock(minutes=10)  # the window (15 minutes from the first failure) is over
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_concurrent_style_hits_are_all_counted_and_a_new_window_starts_after_the_last():
    moment = timezone.now()
    assert [throttle.hit("k", 60, now=moment) for _ in range(3)] == [1, 2, 3]
    assert throttle.hits("k", now=moment + timedelta(seconds=59)) == 3
    assert throttle.hits("k", now=moment + timedelta(seconds=60)) == 0
    assert throttle.hit("k", 60, now=moment + timedelta(seconds=61)) == 1


def test_password_resets_are_limited_per_address_asked_for(client, settings):
    settings.PASSWORD_RESETS_PER_HOUR = 2
    login("reset@shop.example")
    url = reverse("password_reset")
    for _ in range(2):
        assert client.post(url, {"email": "reset@shop.example"}).status_code == 302
    response = client.post(url, {"email": "reset@shop.example"})
    assert response.status_code == 429 and "Too many password reset requests" in response.content.decode()
    assert len(mail.outbox) == 2


def test_tickets_are_limited_per_licence_and_the_question_is_kept(client, settings):
    settings.TICKETS_PER_HOUR = 2
    user = login("asks@shop.example")
    licence = licence_for(user)
    client.force_login(user)
    url = reverse("dashboard-ask", args=[licence.key])
    for n in range(2):
        assert client.post(url, {"message": f"Vraag {n}"}).status_code == 302
    response = client.post(url, {"message": "Nog een vraag"})
    assert response.status_code == 429
    page = response.content.decode()
    assert "many tickets this hour" in page and "Nog een vraag</textarea>" in page
    assert Ticket.objects.filter(licence=licence).count() == 2


def test_the_api_refuses_tickets_past_the_limit_in_its_error_shape(client, settings):
    from dashboard.api.keys import api_key_create

    settings.TICKETS_PER_HOUR = 1
    licence = licence_for(login("script@shop.example"))
    _, key = api_key_create(licence=licence, name="Script")
    url, auth = reverse("api-tickets"), {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = {"message": "Vraag"}
    assert client.post(url, body, content_type="application/json", **auth).status_code == 201
    refused = client.post(url, body, content_type="application/json", **auth)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "throttled"
    assert refused["Retry-After"]
