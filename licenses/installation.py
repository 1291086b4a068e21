"""Sign-up and the installation URL flow: create the licence, connect KMO Shops and EF, save configuration."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext as _

from connectors.eenvoudigfactureren.client import EfClient
from connectors.errors import AuthenticationError, ConnectorError
from connectors.kmoshops.client import KmoShopsClient, oauth_code_exchange

from .connection_words import connection_text
from .models import ConnectionStatus, Licence, LicenceState, MerchantAccess, new_install_token
from .services import connection_failing
from .signals import licence_ready

logger = logging.getLogger(__name__)
STATE_SALT = "kmoshops-oauth-state"
STATE_MAX_AGE = 15 * 60
NO_LONGER_WORKS = gettext_noop(
    "The KMO Shops connection no longer works. Press ReConnect to connect it again."
)
NOT_ACCEPTED = gettext_noop(
    "KMO Shops did not accept the connection (the authorization may have expired or been used already). "
    "Press Connect to try again."
)


class InstallationError(Exception):
    """Something the merchant must see, in their language."""


class AlreadyConnected(InstallationError):
    """Nothing went wrong: the step was done before (a replayed OAuth callback)."""


def licence_owner_without_password(licence: Licence) -> Any | None:
    """The licence's login when it has never logged in (its password was never chosen), else None."""
    access = licence.access.select_related("user").filter(hidden=False, user__last_login__isnull=True).first()
    return access.user if access else None


def install_link_expired(licence: Licence) -> bool:
    """The link was sent more than INSTALL_LINK_DAYS ago (0: links do not expire by time). An installation
    link opens the wizard without a login: a welcome e-mail found in an old mailbox must not, for ever."""
    days = settings.INSTALL_LINK_DAYS
    return days > 0 and timezone.now() - licence.install_token_issued_at > timedelta(days=days)


def install_link_renew(licence: Licence) -> str:
    """A fresh installation link for a logged-in merchant whose link expired; the old one stops working."""
    licence.install_token, licence.install_token_issued_at = new_install_token(), timezone.now()
    Licence.objects.filter(pk=licence.pk).update(
        install_token=licence.install_token, install_token_issued_at=licence.install_token_issued_at
    )
    return licence.install_token


def install_link_retire(licence: Licence) -> bool:
    """The installation link has done its job once the installation is complete and its login was used:
    it is replaced by a new random token that nobody knows, so a forwarded or leaked welcome e-mail no
    longer reaches the wizard (EF key, shop connection, configuration). True when it was retired."""
    if not licence.installation_complete or licence_owner_without_password(licence) is not None:
        return False
    Licence.objects.filter(pk=licence.pk).update(
        install_token=new_install_token(), install_token_issued_at=timezone.now()
    )
    return True


@dataclass(frozen=True)
class Signup:
    licence: Licence
    new_login: bool


def install_url(licence: Licence, language: str | None = None) -> str:
    """The secret installation link; with the language of the e-mail it is sent in, so it opens in it."""
    url = settings.SITE_URL + reverse("install", args=[licence.install_token])
    return f"{url}?lang={language}" if language else url


def oauth_redirect_uri() -> str:
    return settings.SITE_URL + reverse("install-kmoshops-callback")


def _signup_email(licence: Licence, user: Any, new_login: bool) -> None:
    login_url = settings.SITE_URL + reverse("login")
    lines = [
        _("Welcome! Your 30-day trial of the KMO Shops → EenvoudigFactureren integration has started."),
        "",
        _("Licence key: %(key)s") % {"key": licence.key},
        "",
        _("1. Install the integration with this installation URL:"),
        install_url(licence, translation.get_language()),
        "",
        _("2. Your login for the dashboard (%(url)s):") % {"url": login_url},
        _("   user name: %(email)s") % {"email": user.email},
    ]
    if new_login:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = settings.SITE_URL + reverse("password_reset_confirm", args=[uid, token])
        lines.append(_("   choose your password here: %(link)s") % {"link": link})
    else:
        lines.append(_("   password: the one you already use; this licence is added to your dropdown."))
    send_mail(
        _("Your installation URL for KMO Shops → EenvoudigFactureren"),
        "\n".join(lines),
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )


def licence_signup(*, email: str, company_name: str, shop_url: str) -> Signup:
    """Create the licence and the login (or add it to the existing login), then send one e-mail."""
    email = email.strip().lower()
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first() or User.objects.filter(username=email).first()
        new_login = user is None
        if user is None:
            user = User.objects.create_user(username=email, email=email, password=secrets.token_urlsafe(24))
        language = translation.get_language()
        licence = Licence.objects.create(
            company_name=company_name.strip(),
            shop_url=shop_url.strip(),
            contact_email=email,
            language=language if language in dict(settings.LANGUAGES) else "nl",
        )
        MerchantAccess.objects.create(user=user, licence=licence)

        def send() -> None:
            with translation.override(language):
                _signup_email(licence, user, new_login)

        transaction.on_commit(send)
    return Signup(licence=licence, new_login=new_login)


def licence_by_install_token(token: str) -> Licence | None:
    if not token or len(token) > 64:
        return None
    return Licence.objects.filter(install_token=token).exclude(state=LicenceState.CANCELLED).first()


SESSION_KEY = "kmoshops_oauth"


@dataclass(frozen=True)
class OAuthStart:
    """What the browser session remembers of a Connect press: the licence and where to come back to."""

    licence: Licence
    back: str  # "install" (the wizard) or "dashboard" (Connections' ReConnect)
    replay: bool = False


def oauth_state_make(session: Any, licence: Licence, *, back: str = "install") -> str:
    """A single-use state bound to this browser session: a random nonce (signed, with the time) whose
    licence only the session knows. The state shows nothing secret (the installation token stays out)."""
    nonce = secrets.token_urlsafe(16)
    pending = dict(session.get(SESSION_KEY) or {})
    pending = dict(list(pending.items())[-4:])  # a few tabs at once; not an unbounded list
    pending[nonce] = {"licence": licence.pk, "back": back}
    session[SESSION_KEY] = pending
    return signing.dumps({"n": nonce}, salt=STATE_SALT)


def oauth_state_read(session: Any, state: str) -> OAuthStart:
    """The Connect press this state belongs to, taken (once) from this browser session. `replay` is true when
    it was used before in this session (a reload of the callback page, the back button): its code must not
    be exchanged again. A state from another browser session is refused."""
    try:
        data = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InstallationError(
            _("The KMO Shops authorization took too long; please connect again.")
        ) from exc
    except signing.BadSignature as exc:
        raise InstallationError(
            _("The answer from KMO Shops could not be verified; please connect again.")
        ) from exc
    nonce = str(data.get("n", ""))
    pending = dict(session.get(SESSION_KEY) or {})
    used = dict(session.get(SESSION_KEY + "_used") or {})
    started, replay = pending.pop(nonce, None), False
    if started is None:
        started, replay = used.get(nonce), True
    if started is None:
        raise InstallationError(
            _(
                "This KMO Shops authorization was started in another browser, or is too old. "
                "Press Connect again in this browser."
            )
        )
    if not replay:
        used = dict(list(used.items())[-4:])
        used[nonce] = started
        session[SESSION_KEY], session[SESSION_KEY + "_used"] = pending, used
    licence = Licence.objects.filter(pk=started["licence"]).exclude(state=LicenceState.CANCELLED).first()
    if licence is None:
        raise InstallationError(_("This installation link is no longer valid."))
    return OAuthStart(licence, started["back"], replay)


def shop_connection_verify(licence: Licence) -> None:
    """A used authorization came back (a reload, the back button): nothing is exchanged again (KMO Shops
    revokes the token of a code used twice). The stored token is asked for the store's profile instead,
    and the merchant hears what is true: it still works, or it does not and Connect must be pressed."""
    if not licence.shop_token:
        raise InstallationError(
            _(
                "This KMO Shops authorization was used already, or started in another browser. "
                "Press Connect to try again."
            )
        )
    try:
        KmoShopsClient(store_id=licence.store_id, access_token=licence.shop_token).profile()
    except AuthenticationError as exc:
        connection_failing(licence, "shop", exc.message, NO_LONGER_WORKS)
        raise InstallationError(licence.shop_status_shown) from exc
    except ConnectorError as exc:
        raise InstallationError(
            _("KMO Shops did not answer; the connection could not be checked. Try again in a minute.")
        ) from exc
    raise AlreadyConnected(_("KMO Shops is already connected and keeps working; nothing changed."))


def licence_resume(licence: Licence) -> None:
    """Orders that waited on this licence (connection, configuration, expiry) go on by themselves."""
    licence_ready.send(sender=Licence, licence=licence)


def shop_connect(licence: Licence, *, code: str) -> None:
    """Exchange the OAuth code, then read the store profile; only then does the dot turn green."""
    try:
        grant = oauth_code_exchange(code=code, redirect_uri=oauth_redirect_uri())
        profile = KmoShopsClient(store_id=grant.store_id, access_token=grant.access_token).profile()
    except ConnectorError as exc:
        if licence.shop_status == ConnectionStatus.OK and licence.shop_token:
            shop_connection_verify(licence)  # says whether the connection we have still works
        # In the merchant's words; KMO Shops' own (often just "Bad Request") only behind Details.
        Licence.objects.filter(pk=licence.pk).update(
            shop_status=ConnectionStatus.FAILING if licence.shop_token else ConnectionStatus.NONE,
            shop_status_reason=f"{exc.status or '-'} {exc.message}"[:500],
            shop_status_text=connection_text(NOT_ACCEPTED),
        )
        raise InstallationError(gettext(NOT_ACCEPTED)) from exc
    other = (
        Licence.objects.filter(store_id=grant.store_id)
        .exclude(pk=licence.pk)
        .exclude(state=LicenceState.CANCELLED)
        .first()
    )
    if other is not None:
        raise InstallationError(
            _(
                "This KMO Shops store is already connected to licence %(key)s. To install the integration "
                "on this licence instead, first remove the app from that store in KMO Shops (Apps → My apps "
                "→ Remove): licence %(key)s then stops, and you can press Connect here again. If you meant "
                "to keep licence %(key)s, you need nothing here: log in and use that licence."
            )
            % {"key": other.key}
        )
    licence.store_id = grant.store_id
    licence.shop_token = grant.access_token
    licence.shop_profile = profile
    licence.shop_status = ConnectionStatus.OK
    licence.shop_status_reason = ""
    licence.shop_checked_at = timezone.now()
    if licence.process_from is None:
        licence.process_from = timezone.now()
    licence.save()
    licence_resume(licence)


def ef_connect(licence: Licence, *, api_key: str) -> None:
    """Verify the key (account, VAT rates, layouts, rights) before the dot turns green; ReConnect replaces it."""
    api_key = api_key.strip()
    if not api_key or len(api_key) > 500:
        raise InstallationError(_("Paste the API key you created in EenvoudigFactureren."))
    client = EfClient(api_key=api_key)
    try:
        account = client.account_current()
        missing = client.missing_rights()
        rates = client.tax_rates()
        layouts = client.layouts() if "Layouts" not in missing else []
    except AuthenticationError as exc:
        logger.info("licence %s: EF refused a pasted key: %s", licence.key, exc.summary())
        raise InstallationError(
            _(
                "EenvoudigFactureren does not accept this API key. Copy it again from EenvoudigFactureren "
                "(Settings → API keys): the whole key, of a key that was not deleted."
            )
        ) from exc
    except ConnectorError as exc:
        logger.info("licence %s: EF could not check a pasted key: %s", licence.key, exc.summary())
        raise InstallationError(
            _("EenvoudigFactureren could not check the key now. Try again in a minute.")
        ) from exc
    if missing:
        raise InstallationError(
            _(
                "This API key lacks access to: %(areas)s. In EenvoudigFactureren, give the key access to Invoices, Customers, Items and Layouts."
            )
            % {"areas": ", ".join(missing)}
        )
    licence.ef_api_key = api_key
    licence.ef_account_number = account.number
    licence.ef_account_name = account.name
    licence.ef_vat_rates = [str(rate) for rate in rates]
    licence.ef_layouts = layouts
    licence.ef_status = ConnectionStatus.OK
    licence.ef_status_reason = ""
    licence.ef_checked_at = timezone.now()
    if licence.ef_layout_id and not any(layout["layout_id"] == licence.ef_layout_id for layout in layouts):
        licence.ef_layout_id = None
    licence.save()
    licence_resume(licence)


def configuration_save(licence: Licence, cleaned: dict[str, Any]) -> None:
    for name, value in cleaned.items():
        setattr(licence, name, value)
    licence.configured_at = timezone.now()
    licence.save()
    licence_resume(licence)
