"""Merchant dashboard: tabs Open / Report / Errors, More info, actions, tickets, configuration, connections.

Every view takes the licence key from the URL and resolves it through `selectors.licence_for_user`, so a
licence (or an order) the login does not see answers 404.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connectors.errors import ConnectorError
from licenses import throttle
from licenses.forms import ConfigurationForm, EfKeyForm
from licenses.installation import configuration_save, install_link_expired, install_link_renew
from licenses.models import Licence, LicenceState
from licenses.services import ef_client
from licenses.views import ef_key_submit, shop_authorize_redirect
from orders.actions import order_credit_and_reinvoice, order_ignore, order_process_again
from orders.backfill import backfill_latest, backfill_progress
from orders.explanations import explanation
from orders.models import Order
from orders.queue import enqueue
from orders.refund_amount import AmountRefused, refund_amount_enter, refund_amount_parse
from orders.texts import shown

from .api.keys import api_key_create, api_key_revoke
from .models import Ticket
from .selectors import (
    TABS,
    Period,
    after_invoice_by_order,
    licence_for_user,
    licences_for_user,
    order_for_licence,
    order_ids_for_licence,
    orders_elsewhere,
    orders_for_tab,
    orders_page,
    period_for_tab,
    tab_counts,
    tickets_for_licence,
)
from .tickets import MESSAGE_MAX, MessageTooLong, TooManyTickets, ticket_create

PAGE_SIZE = 50


class ThrottledLoginView(LoginView):
    """After too many failed logins for one user name, or from one address, refuse tries for 15 minutes."""

    template_name = "registration/login.html"

    def _keys(self) -> dict[str, int]:
        name = self.request.POST.get("username", "").strip().lower()
        return {
            f"login-failures:{name}": settings.LOGIN_FAILURES_ALLOWED,
            f"login-failures-from:{throttle.client_address(self.request)}": settings.LOGIN_FAILURES_PER_ADDRESS,
        }

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if any(throttle.hits(key) >= limit for key, limit in self._keys().items()):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, _("Too many failed attempts. Wait 15 minutes or reset your password."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):  # noqa: ANN001, ANN201 - Django's signature
        for key in self._keys():
            throttle.hit(key, 15 * 60)
        return super().form_invalid(form)

    def form_valid(self, form):  # noqa: ANN001, ANN201
        throttle.reset(next(iter(self._keys())))
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset flow in the product's own layout; the e-mail links to SITE_URL, in the page's language."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):  # noqa: ANN001, ANN201 - Django's signature
        keys = (
            f"password-resets-from:{throttle.client_address(self.request)}",
            f"password-resets-for:{form.cleaned_data['email'].strip().lower()}",
        )
        counts = [throttle.hit(key, 3600) for key in keys]  # each one atomic statement: no race between
        if max(counts) > settings.PASSWORD_RESETS_PER_HOUR:  # a look and a count
            form.add_error(None, _("Too many password reset requests. Please try again in an hour."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)


def _page_context(request: HttpRequest, licence, **extra: object) -> dict[str, object]:  # noqa: ANN001
    return {
        "licence": licence,
        "licences": licences_for_user(request.user),
        "counts": tab_counts(licence),
        **extra,
    }


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    first = licences_for_user(request.user).first()
    if first is None:
        return render(request, "dashboard/no_licence.html")
    return redirect("dashboard-tab", key=first.key, tab="open")


@login_required
@require_GET
def tab(request: HttpRequest, key: str, tab: str) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    if tab not in TABS:
        raise Http404
    period = period_for_tab(tab, request.GET)
    search = request.GET.get("q", "")[:100]
    orders = orders_for_tab(licence, tab, period=period, search=search)
    page = orders_page(orders, request.GET.get("page"), PAGE_SIZE, search=bool(search.strip()))
    elsewhere = orders_elsewhere(licence, tab, search=search) if period and not page.object_list else None
    context = _page_context(
        request, licence, tab=tab, page=page, period=period, search=search, elsewhere=elsewhere
    )
    return render(request, "dashboard/tab.html", context)


@login_required
@require_GET
def report_csv(request: HttpRequest, key: str) -> StreamingHttpResponse:
    """Streams: the first row leaves at once, a year of orders never sits in memory or hits a timeout."""
    licence = licence_for_user(request.user, key)
    period = Period.from_query(request.GET)
    orders = orders_for_tab(licence, "report", period=period, search=request.GET.get("q", "")[:100])
    response = StreamingHttpResponse(
        report_csv_rows(orders, language=translation.get_language() or "en"),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="report-{licence.key}-{period.start}-{period.end}.csv"'
    )
    return response


class _Line:
    """csv.writer writes into this; each row comes back as a string to stream."""

    def write(self, value: str) -> str:
        return value


CSV_CHUNK_ROWS = 500
CALLS_SHOWN = 100  # More info shows the latest calls; the CSV has them all
REPORT_COLUMNS = (
    "pk",
    "order_number",
    "order_created_at",
    "customer_name",
    "customer_email",
    "total",
    "handled_at",
    "ef_client_id",
    "ef_invoice_id",
    "ef_invoice_number",
)


def report_csv_rows(orders, *, language: str) -> Iterator[str]:  # noqa: ANN001 - a queryset of orders
    """Opens as columns in Excel: a BOM for UTF-8; `;` and decimal commas for Dutch and French Excel.

    Rows go out in chunks of CSV_CHUNK_ROWS, each with one look-up of its orders' sends and credit notes.
    """
    comma = not language.startswith("en")
    writer = csv.writer(_Line(), delimiter=";" if comma else ",")
    with translation.override(language):
        header = [
            _("Order"),
            _("Order date"),
            _("Customer"),
            _("E-mail"),
            _("Total"),
            _("Handled"),
            _("EF client"),
            _("EF invoice id"),
            _("EF invoice"),
            _("Sent via"),
            _("Credit notes"),
            _("Replaced invoices"),
        ]
        channels = {"peppol": "Peppol", "email": _("e-mail")}
    yield "\ufeff" + writer.writerow(header)
    tz = timezone.get_current_timezone()

    def money_text(value: Decimal) -> str:
        amount = f"{value:.2f}"
        return amount.replace(".", ",") if comma else amount

    def written(chunk: list[tuple]) -> str:
        after = after_invoice_by_order([row[0] for row in chunk])
        lines = []
        for pk, number, created, name, email, total, handled, client_id, invoice_id, invoice_number in chunk:
            lines.append(
                writer.writerow(
                    [
                        _csv_safe(number),
                        created.astimezone(tz).date().isoformat() if created else "",
                        _csv_safe(name),
                        _csv_safe(email),
                        "" if total is None else money_text(total),
                        handled.astimezone(tz).strftime("%Y-%m-%d %H:%M") if handled else "",
                        client_id or "",
                        invoice_id or "",
                        _csv_safe(invoice_number),
                        channels.get(after.sent.get(pk, ""), ""),
                        " | ".join(f"{n} ({money_text(-amount)})" for n, amount in after.credits.get(pk, [])),
                        " | ".join(f"{old} ({credit})" for old, credit in after.replaced.get(pk, [])),
                    ]
                )
            )
        return "".join(lines)

    chunk: list[tuple] = []
    for row in orders.values_list(*REPORT_COLUMNS).iterator(chunk_size=2000):
        chunk.append(row)
        if len(chunk) == CSV_CHUNK_ROWS:  # a few hundred rows a write: little overhead, memory stays flat
            yield written(chunk)
            chunk = []
    if chunk:
        yield written(chunk)


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas; customer data must never do that."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@login_required
@require_GET
def order_detail(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    return _order_page(request, licence, order_for_licence(licence, pk))


def _order_page(
    request: HttpRequest,
    licence: Licence,
    order: Order,
    *,
    problem: str = "",
    refund_typed: str = "",
    status: int = 200,
) -> HttpResponse:
    """More info; `problem` is a report the merchant must send again (kept in its box, never lost)."""
    context = _page_context(
        request,
        licence,
        order=order,
        events=order.events.all(),
        follow_ups=order.follow_ups.all(),
        calls=order.calls.order_by("-at", "-pk")[:CALLS_SHOWN],
        explanation=explanation(order.error_code),
        problem=problem,
        refund_typed=refund_typed,
    )
    return render(request, "dashboard/order_detail.html", context, status=status)


@login_required
@require_GET
def order_invoice_pdf(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    """The EF invoice of an order, as EF prints it, fetched with the licence's own key."""
    licence = licence_for_user(request.user, key)
    order = order_for_licence(licence, pk)
    if not order.ef_invoice_id:
        raise Http404
    try:
        pdf = ef_client(licence).invoice_pdf(order.ef_invoice_id)
    except ConnectorError as exc:
        messages.error(
            request,
            _("EenvoudigFactureren could not give the invoice now (%(reason)s). Try again in a minute.")
            % {"reason": exc.message},
        )
        return redirect("dashboard-order", key=key, pk=pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = order.ef_invoice_number or str(order.ef_invoice_id)
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


@login_required
@require_POST
def order_report_problem(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    order = order_for_licence(licence, pk)
    message = request.POST.get("message", "")
    try:
        ticket = ticket_create(
            licence=licence, user=request.user, kind=Ticket.Kind.PROBLEM, message=message, order=order
        )
    except MessageTooLong as exc:
        messages.error(request, _message_too_long(exc))
        return _order_page(request, licence, order, problem=message, status=400)
    except TooManyTickets:
        messages.error(request, _too_many_tickets())
        return _order_page(request, licence, order, problem=message, status=429)
    messages.success(
        request,
        _("Thank you. Ticket #%(number)s was sent to support with everything they need.")
        % {"number": ticket.pk},
    )
    return redirect("dashboard-order", key=key, pk=pk)


@login_required
@require_POST
def order_refund_amount(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    """REFUND_AMOUNT_MISSING: the merchant says how much was refunded; the credit note follows."""
    licence = licence_for_user(request.user, key)
    order = order_for_licence(licence, pk)
    typed = request.POST.get("amount", "")[:30]
    try:
        amount = refund_amount_parse(typed)
        refund_amount_enter(
            licence=licence, order_pk=order.pk, amount=amount, actor=request.user.get_username()
        )
    except AmountRefused as refused:
        messages.error(request, str(refused))
        return _order_page(request, licence, order, refund_typed=typed, status=400)
    messages.success(request, _("The credit note is being made."))
    return redirect("dashboard-order", key=key, pk=pk)


def _message_too_long(exc: MessageTooLong) -> str:
    return _(
        "Your message is %(length)s characters long; a ticket holds %(limit)s. Nothing was sent: shorten it "
        "(the order and its history go along by themselves) and send it again."
    ) % {
        "length": number_format(exc.length, force_grouping=True),
        "limit": number_format(MESSAGE_MAX, force_grouping=True),
    }


def _too_many_tickets() -> str:
    return _("You sent many tickets this hour; please wait a while, or write to us by e-mail.")


def _selected_ids(request: HttpRequest) -> list[int]:
    return [int(value) for value in request.POST.getlist("orders") if value.isdigit()][:500]


def processed_again_message(count: int) -> str:
    return ngettext(
        "%(count)s order will be processed again.", "%(count)s orders will be processed again.", count
    ) % {"count": count}


def ignored_message(count: int) -> str:
    return ngettext(
        "%(count)s order is ignored; find it under Ignored, where Process undoes it.",
        "%(count)s orders are ignored; find them under Ignored, where Process undoes it.",
        count,
    ) % {"count": count}


def reinvoiced_message(count: int) -> str:
    return _("A credit note and a new invoice are being made; the order is back on Report in a moment.")


def _report_action(request: HttpRequest, result, done_text) -> None:  # noqa: ANN001
    if result.done:
        messages.success(request, done_text(len(result.done)))
    for number, why in result.refused.items():
        messages.error(
            request,
            # A reason may be a whole sentence of its own: one full stop, not two.
            _("Order %(number)s was not changed: %(reason)s.")
            % {"number": number, "reason": shown(why).rstrip(".")},
        )


def _order_action(request: HttpRequest, key: str, action, done_text) -> HttpResponse:  # noqa: ANN001
    licence = licence_for_user(request.user, key)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = f"/dashboard/{key}/errors/"
    selected = _selected_ids(request)
    if not selected:
        messages.error(request, _("Select at least one order."))
        return redirect(next_url)
    order_ids = order_ids_for_licence(licence, selected)
    result = action(licence=licence, order_ids=order_ids, actor=request.user.get_username())
    _report_action(request, result, done_text)
    return redirect(next_url)


@login_required
@require_POST
def orders_process(request: HttpRequest, key: str) -> HttpResponse:
    return _order_action(request, key, order_process_again, processed_again_message)


@login_required
@require_POST
def orders_credit_and_reinvoice(request: HttpRequest, key: str) -> HttpResponse:
    return _order_action(request, key, order_credit_and_reinvoice, reinvoiced_message)


@login_required
@require_POST
def orders_ignore(request: HttpRequest, key: str) -> HttpResponse:
    return _order_action(request, key, order_ignore, ignored_message)


@login_required
@require_POST
def sync_now(request: HttpRequest, key: str) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    enqueue("orders.tasks.licence_catch_up_task", licence.pk)
    messages.success(request, _("We are asking KMO Shops for new and changed orders now."))
    return redirect("dashboard-tab", key=key, tab="open")


@login_required
@require_http_methods(["GET", "POST"])
def ask_us(request: HttpRequest, key: str) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    if request.method == "POST":
        message = request.POST.get("message", "").strip()
        if message:
            try:
                ticket = ticket_create(
                    licence=licence, user=request.user, kind=Ticket.Kind.QUESTION, message=message
                )
            except MessageTooLong as exc:
                messages.error(request, _message_too_long(exc))
                context = _page_context(request, licence, message=message)  # kept to be shortened
                return render(request, "dashboard/ask.html", context, status=400)
            except TooManyTickets:
                messages.error(request, _too_many_tickets())
                context = _page_context(request, licence, message=message)  # kept for later
                return render(request, "dashboard/ask.html", context, status=429)
            messages.success(
                request,
                _(
                    "Thank you. Ticket #%(number)s was sent to support; a copy is in your mailbox. "
                    "The answer comes by e-mail and appears here."
                )
                % {"number": ticket.pk},
            )
            return redirect("dashboard-tickets", key=key)
        messages.error(request, _("Please write your question."))
    return render(request, "dashboard/ask.html", _page_context(request, licence))


@login_required
@require_GET
def tickets(request: HttpRequest, key: str) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    context = _page_context(request, licence, tickets=tickets_for_licence(licence), tab="tickets")
    return render(request, "dashboard/tickets.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def configuration(request: HttpRequest, key: str) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    form = ConfigurationForm(request.POST or None, licence=licence)
    if request.method == "POST" and form.is_valid():
        configuration_save(licence, form.cleaned_data)
        messages.success(request, _("The configuration is saved."))
        return redirect("dashboard-configuration", key=key)
    latest = backfill_latest(licence)
    context = _page_context(
        request,
        licence,
        form=form,
        backfill=latest,
        backfill_progress=backfill_progress(latest) if latest else None,
        backfill_until=timezone.localdate(licence.process_from) if licence.process_from else None,
    )
    return render(request, "dashboard/configuration.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def connections(request: HttpRequest, key: str) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    form = EfKeyForm(request.POST or None)
    if request.method == "POST" and ef_key_submit(request, licence, form):
        return redirect("dashboard-connections", key=key)
    return render(request, "dashboard/connections.html", _page_context(request, licence, ef_form=form))


@login_required
@require_GET
def continue_installation(request: HttpRequest, key: str) -> HttpResponse:
    """The banner's "Continue the installation": to the wizard, with a fresh link when the e-mailed one
    expired (INSTALL_LINK_DAYS). Only for the merchant's own unfinished, not cancelled licence."""
    licence = licence_for_user(request.user, key)
    if licence.installed or licence.state == LicenceState.CANCELLED:
        return redirect("dashboard-tab", key=licence.key, tab="open")
    if install_link_expired(licence):
        install_link_renew(licence)
    return redirect("install", token=licence.install_token)


@login_required
@require_POST
def reconnect_shop(request: HttpRequest, key: str) -> HttpResponse:
    """Connections' ReConnect for KMO Shops: through the shop's consent page and back to Connections."""
    return shop_authorize_redirect(request, licence_for_user(request.user, key), back="dashboard")


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest, key: str) -> HttpResponse:
    """Make (shown once), list and revoke the licence's API keys."""
    licence = licence_for_user(request.user, key)
    new_key = ""
    if request.method == "POST":
        if request.POST.get("revoke"):
            revoked = api_key_revoke(
                licence=licence, key_id=int(request.POST["revoke"]) if request.POST["revoke"].isdigit() else 0
            )
            if not revoked:
                raise Http404
            messages.success(request, _("The key is revoked: calls with it are refused from now on."))
            return redirect("dashboard-api-keys", key=key)
        _row, new_key = api_key_create(licence=licence, name=request.POST.get("name", ""), user=request.user)
    keys = licence.api_keys.all()
    return render(
        request,
        "dashboard/api_keys.html",
        _page_context(request, licence, keys=keys, new_key=new_key, tab="api"),
    )


CALL_COLUMNS = ("at", "service", "method", "path", "status", "duration_ms", "error")


@login_required
@require_GET
def order_calls_csv(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    """Every call made for the order, oldest first, as CSV (the same columns in every language)."""
    licence = licence_for_user(request.user, key)
    order = order_for_licence(licence, pk)
    line = _Line()
    writer = csv.writer(line)
    rows = ["\ufeff" + writer.writerow(CALL_COLUMNS)]
    for call in order.calls.all():
        values = [
            call.at.isoformat(),
            call.service,
            call.method,
            call.path,
            call.status or "",
            call.duration_ms,
        ]
        rows.append(writer.writerow([*values, _csv_safe(call.error)]))
    response = HttpResponse("".join(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="calls-{order.order_number}.csv"'
    return response
