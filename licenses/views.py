"""Public pages (integrations, sign-up) and the installation URL wizard."""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connectors.kmoshops.client import oauth_authorize_url

from . import throttle
from .forms import ConfigurationForm, EfKeyForm, SignupForm
from .installation import (
    AlreadyConnected,
    InstallationError,
    OAuthStart,
    configuration_save,
    ef_connect,
    install_link_expired,
    install_link_retire,
    licence_by_install_token,
    licence_owner_without_password,
    licence_signup,
    oauth_redirect_uri,
    oauth_state_make,
    oauth_state_read,
    shop_connect,
    shop_connection_verify,
)
from .models import Licence


@require_GET
def integrations(request: HttpRequest) -> HttpResponse:
    return render(request, "licenses/integrations.html")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        key = f"signup:{throttle.client_address(request)}"
        if throttle.hits(key) >= settings.SIGNUP_RATE_PER_HOUR:
            form.add_error(None, _("Too many sign-ups from your address; please try again in an hour."))
            return render(request, "licenses/signup.html", {"form": form}, status=429)
        if form.is_valid():
            throttle.hit(key, 3600)
            licence_signup(**form.cleaned_data)
            return render(request, "licenses/signup_done.html", {"email": form.cleaned_data["email"]})
    return render(request, "licenses/signup.html", {"form": form})


class _LinkRetired(Exception):
    pass


class _LinkExpired(Exception):
    pass


def _licence_or_404(token: str) -> Licence:
    """The licence of a live installation link. Once the installation is complete and its login was used,
    the link changes nothing any more: it is retired (install_link_retire) and the step goes to the login.
    A link older than INSTALL_LINK_DAYS changes nothing either (expired_install_link)."""
    licence = licence_by_install_token(token)
    if licence is None:
        raise Http404("unknown installation link")
    if install_link_retire(licence):
        raise _LinkRetired
    if install_link_expired(licence):
        raise _LinkExpired
    return licence


def _to_login_when_retired(view):  # noqa: ANN001, ANN202 - a view decorator
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _LinkRetired:
            messages.info(
                request, _("The installation is complete. Log in to change settings in your dashboard.")
            )
            return redirect("login")
        except _LinkExpired:
            return expired_install_link(request)

    return wrapped


def expired_install_link(request: HttpRequest) -> HttpResponse:
    message = _(
        "This installation link has expired: a link works for %(days)s days after it was sent. Log in and "
        "press “Continue the installation” in your dashboard: it gives you a new link. No password yet? "
        "Choose one with “Forgot your password?” on the login page."
    ) % {"days": settings.INSTALL_LINK_DAYS}
    return render(request, "licenses/install_problem.html", {"message": message}, status=410)


def dead_install_link(request: HttpRequest) -> HttpResponse:
    message = _(
        "This installation link no longer works: the installation was finished (log in to change settings "
        "in your dashboard), a newer link replaced it (your dashboard has it), the licence was cancelled "
        "(the app was removed from your KMO Shops backend), or the link was copied incompletely. Log in, "
        "copy the link again from your welcome e-mail, or sign up again; questions: %(email)s."
    ) % {"email": settings.SUPPORT_EMAIL}
    return render(request, "licenses/install_problem.html", {"message": message}, status=404)


def install_context(licence: Licence, **extra: object) -> dict[str, object]:
    owner = licence_owner_without_password(licence) if licence.installation_complete else None
    return {
        "licence": licence,
        "install_token": licence.install_token,
        "ef_form": EfKeyForm(),
        "config_form": ConfigurationForm(licence=licence),
        "password_form": SetPasswordForm(owner) if owner else None,
        "owner": owner,
        **extra,
    }


@require_GET
def install(request: HttpRequest, token: str) -> HttpResponse:
    licence = licence_by_install_token(token)
    if licence is None:
        return dead_install_link(request)
    if install_link_expired(licence):
        return expired_install_link(request)
    language = request.GET.get("lang", "")
    if language in dict(settings.LANGUAGES):
        # The link from a Dutch e-mail opens in Dutch, and the choice sticks for the pages after it.
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = render(request, "licenses/install.html", install_context(licence))
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        return response
    return render(request, "licenses/install.html", install_context(licence))


@require_POST
@_to_login_when_retired
def install_password(request: HttpRequest, token: str) -> HttpResponse:
    """The last step: choose the dashboard password here (the installation link is the secret), log in."""
    licence = _licence_or_404(token)
    owner = licence_owner_without_password(licence)
    if owner is None or not licence.installation_complete:
        messages.info(request, _("Your password was chosen before: log in with it."))
        return redirect("login")
    form = SetPasswordForm(owner, request.POST)
    if not form.is_valid():
        context = install_context(licence, password_form=form)
        return render(request, "licenses/install.html", context, status=400)
    user = form.save()
    login(request, user)
    messages.success(request, _("Your password is saved. Welcome to your dashboard."))
    return redirect("dashboard-home")


@require_POST
@_to_login_when_retired
def install_kmoshops_connect(request: HttpRequest, token: str) -> HttpResponse:
    licence = _licence_or_404(token)
    return shop_authorize_redirect(request, licence, back="install")


def shop_authorize_redirect(request: HttpRequest, licence: Licence, *, back: str) -> HttpResponse:
    """To KMO Shops' consent page; the callback comes back to `back` ("install" or "dashboard")."""
    state = oauth_state_make(request.session, licence, back=back)
    return HttpResponseRedirect(oauth_authorize_url(redirect_uri=oauth_redirect_uri(), state=state))


def _after_connect(start: OAuthStart) -> HttpResponse:
    if start.back == "dashboard":
        return redirect("dashboard-connections", key=start.licence.key)
    return redirect("install", token=start.licence.install_token)


@require_GET
def install_kmoshops_callback(request: HttpRequest) -> HttpResponse:
    try:
        start = oauth_state_read(request.session, request.GET.get("state", ""))
    except InstallationError as exc:
        context = {"message": str(exc), "retry": True}
        return render(request, "licenses/install_problem.html", context, status=400)
    licence, back = start.licence, _after_connect(start)
    if request.GET.get("error"):
        messages.error(
            request,
            _("You did not give access in KMO Shops, so nothing was connected. Press Connect to try again."),
        )
        return back
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, _("KMO Shops sent no authorization code; please connect again."))
        return back
    try:
        if start.replay:
            shop_connection_verify(licence)  # never exchange a used code again
        shop_connect(licence, code=code)
    except AlreadyConnected as exc:
        messages.info(request, str(exc))
        return back
    except InstallationError as exc:
        messages.error(request, str(exc))
        return back
    messages.success(request, _("KMO Shops is connected."))
    return back


def ef_key_submit(request: HttpRequest, licence: Licence, form: EfKeyForm) -> bool:
    """Verify and store a pasted EF key (install popup and Connections' ReConnect); errors go on the form."""
    if not form.is_valid():
        return False
    try:
        ef_connect(licence, api_key=form.cleaned_data["api_key"])
    except InstallationError as exc:
        form.add_error("api_key", str(exc))
        return False
    messages.success(request, _("EenvoudigFactureren is connected."))
    return True


@require_POST
@_to_login_when_retired
def install_ef_connect(request: HttpRequest, token: str) -> HttpResponse:
    licence = _licence_or_404(token)
    form = EfKeyForm(request.POST)
    if ef_key_submit(request, licence, form):
        return redirect("install", token=token)
    return render(
        request, "licenses/install.html", install_context(licence, ef_form=form, ef_open=True), status=400
    )


@require_POST
@_to_login_when_retired
def install_configuration(request: HttpRequest, token: str) -> HttpResponse:
    licence = _licence_or_404(token)
    form = ConfigurationForm(request.POST, licence=licence)
    if form.is_valid():
        configuration_save(licence, form.cleaned_data)
        messages.success(request, _("The configuration is saved."))
        return redirect("install", token=token)
    return render(request, "licenses/install.html", install_context(licence, config_form=form), status=400)
