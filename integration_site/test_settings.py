"""Settings for the test suite: production settings with test-only secrets and plain HTTP."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop")
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# A fixed Fernet key so that encrypted fixtures stay readable between runs.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "tyjPRZlNE8cGhDJ6kzL1b3z1mWZcj2w7i1D8mHfr1Dc=")
os.environ.setdefault("Q_SYNC", "true")
os.environ.setdefault("KMOSHOPS_CLIENT_ID", "test-client-id")
os.environ.setdefault("KMOSHOPS_CLIENT_SECRET", "test_client_secret_abc123")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("STATIC_MANIFEST", "false")  # no collectstatic before tests

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not :memory:, so that the live server thread, worker threads and the test share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # no idle sessions left behind by server threads  # noqa: F405
