"""The skeleton: health endpoint, production settings, migrations, environment switches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "p" * 20 + "roduction-secret-key-with-enough-entropy-Q9!x",
    "ALLOWED_HOSTS": "koppeling.example.be",
    "FIELD_ENCRYPTION_KEYS": "tyjPRZlNE8cGhDJ6kzL1b3z1mWZcj2w7i1D8mHfr1Dc=",
    "SITE_URL": "https://koppeling.example.be",
}


def run_manage(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "HTTPS"}}
    env.update(extra_env or {})
    env["DJANGO_SETTINGS_MODULE"] = "integration_site.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def settings_value(expression: str, extra_env: dict[str, str]) -> object:
    script = f"import json; from django.conf import settings; print(json.dumps({expression}))"
    result = run_manage("shell", "-c", script, extra_env={**PRODUCTION_ENV, **extra_env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_healthz_says_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_broker_is_down(client, monkeypatch):
    from django_q.conf import Conf

    # A Redis broker on a port where nothing listens: a real refused connection.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] is False
    assert response.json()["database"] is True


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", extra_env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = run_manage("check", extra_env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_database_url_switches_to_postgresql():
    engine = settings_value(
        "settings.DATABASES['default']['ENGINE']", {"DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}
    )
    assert engine == "django.db.backends.postgresql"


def test_sqlite_is_the_default_database():
    engine = settings_value("settings.DATABASES['default']['ENGINE']", {"DATABASE_URL": ""})
    assert engine == "django.db.backends.sqlite3"


def test_redis_url_switches_the_queue_broker_to_redis():
    q = settings_value("settings.Q_CLUSTER", {"REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert q["redis"] == "redis://127.0.0.1:6379/3"
    assert "orm" not in q
    q_default = settings_value("settings.Q_CLUSTER", {"REDIS_URL": ""})
    assert q_default["orm"] == "default"
    assert q_default["retry"] > q_default["timeout"]


def test_email_url_selects_the_backend():
    backend = settings_value("settings.EMAIL_BACKEND", {"EMAIL_URL": "smtp://u:p@mail.example.be:587"})
    assert backend == "django.core.mail.backends.smtp.EmailBackend"
    assert settings_value("settings.EMAIL_BACKEND", {}) == "django.core.mail.backends.console.EmailBackend"


@pytest.mark.django_db
def test_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_filemail_url_with_three_slashes_keeps_the_absolute_folder():
    path = settings_value("settings.EMAIL_FILE_PATH", {"EMAIL_URL": "filemail:///var/mail/koppeling"})
    assert path == "/var/mail/koppeling"
    backend = settings_value("settings.EMAIL_BACKEND", {"EMAIL_URL": "filemail:///var/mail/koppeling"})
    assert backend == "django.core.mail.backends.filebased.EmailBackend"


def test_migrate_alone_leaves_a_site_whose_sign_up_works(tmp_path):
    """No createcachetable step: a fresh database after `migrate` serves the (throttled) sign-up page."""
    env = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "REDIS_URL": ""}
    migrated = run_manage("migrate", "--noinput", extra_env=env)
    assert migrated.returncode == 0, migrated.stderr
    script = (
        "from django.test import Client; "
        "r = Client(HTTP_HOST='koppeling.example.be').post('/signup/', {'email': 'x@example.be'}, secure=True); "
        "print('STATUS', r.status_code)"
    )
    result = run_manage("shell", "-c", script, extra_env=env)
    assert result.returncode == 0, result.stderr
    assert "STATUS 500" not in result.stdout and "STATUS" in result.stdout, result.stdout
