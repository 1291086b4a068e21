"""E-mail settings from one URL (django-environ), with its `filemail:///abs/path` slip mended."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import environ


def email_settings(url: str) -> dict[str, Any]:
    """`filemail:///var/mail/app` means the absolute folder /var/mail/app; django-environ drops the slash."""
    config = environ.Env.email_url_config(url)
    parts = urlsplit(url)
    if parts.scheme == "filemail" and not parts.netloc and parts.path.startswith("/"):
        config["EMAIL_FILE_PATH"] = parts.path
    return config
