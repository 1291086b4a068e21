"""The EF client of an order: remembered, found by e-mail address and VAT number, or made exactly once.

The match is remembered per licence, e-mail address and VAT number (or a company's name when it gave no
VAT number): `EfClientMatch`. A client create is guarded like the invoice create (orders.ef_create): the
match's row is committed without a client before the call, so an attempt that comes while the outcome is
unknown (a retry, a webhook, Process, another order of the same customer) looks in EF first and does not
create before EF must have finished with the call.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from connectors.eenvoudigfactureren.client import EfClient
from connectors.errors import ConnectorError
from licenses.models import Licence

from .client_choice import client_choose, customer_name_key, customer_vat_key
from .domain import Customer, DomainOrder
from .ef_create import Deferred, marks_after_failure, uncertain_create_settles_at
from .invoice_mapping import client_payload_build, tax_code_compact
from .models import EfClientMatch, Order, OrderEvent
from .rows import row_value
from .texts import Text
from .timeline import order_event_add

TOO_EARLY = gettext_noop(
    "Making sure EenvoudigFactureren did not create this customer's client in an earlier attempt; "
    "looking again at %(time)s."
)

# Why a client with the order's e-mail address is not this order's customer (orders.client_choice).
OTHER_VAT_NUMBER = gettext_noop(
    "EF client %(id)s (%(name)s) has this e-mail address but VAT number %(theirs)s, the order %(ours)s: "
    "another customer, not used."
)
OTHER_NAME = gettext_noop(
    "EF client %(id)s (%(name)s) has this e-mail address but not the order's name (%(ours)s), and neither "
    "has a VAT number: another customer, not used."
)


def client_match_or_create(order: Order, domain: DomainOrder, licence: Licence, ef: EfClient) -> int:
    """The EF client id for this order's customer. An existing EF client is never modified."""
    customer = domain.customer
    key = _match_key(licence, customer)
    # A known customer (most orders): one hand-built look-up (orders.rows), no ORM compiling.
    known = row_value(EfClientMatch, "ef_client_id", {**key, "licence": licence.pk})
    if known:
        _note(order, gettext_noop("Customer known as EF client %(id)s."), id=known)
        return known
    choice = client_choose(customer, ef.clients_find_by_email(key["email"]))
    for other in choice.not_this_customer:
        theirs = tax_code_compact(str(other.get("tax_code") or ""))
        why = (
            {"template": OTHER_VAT_NUMBER, "theirs": theirs or "-", "ours": key["vat_number"] or "-"}
            if theirs != key["vat_number"]
            else {"template": OTHER_NAME, "ours": customer.name}  # neither has a VAT number
        )
        _note(order, id=other.get("client_id"), name=str(other.get("name") or ""), **why)
    if choice.client_id is not None:
        _note(
            order,
            gettext_noop("Found EF client %(id)s by e-mail %(email)s."),
            id=choice.client_id,
            email=key["email"],
        )
        _remember(key, choice.client_id)
        return choice.client_id
    match = _create_claimed(EfClientMatch.objects.filter(**key).first(), key)
    if match.ef_client_id:  # another attempt made it a moment ago
        _note(order, gettext_noop("Customer known as EF client %(id)s."), id=match.ef_client_id)
        return match.ef_client_id
    try:
        client_id = ef.client_create(client_payload_build(domain))
    except ConnectorError as exc:
        marks = marks_after_failure(exc)
        if marks:
            EfClientMatch.objects.filter(pk=match.pk, ef_client_id__isnull=True).update(
                **{f"create_{name}_at": value for name, value in marks.items()}
            )
        raise
    _note(
        order,
        gettext_noop("Created EF client %(id)s for %(email)s."),
        id=client_id,
        email=key["email"],
    )
    EfClientMatch.objects.filter(pk=match.pk).update(
        ef_client_id=client_id, create_started_at=None, create_settles_at=None
    )
    return client_id


def client_match_forget(order: Order, domain: DomainOrder, licence: Licence, client_id: int) -> None:
    """EF no longer knows the remembered client (deleted in EF): forget it, so the customer is looked up
    (or made) again instead of failing the same way on every attempt."""
    EfClientMatch.objects.filter(**_match_key(licence, domain.customer), ef_client_id=client_id).delete()
    _note(
        order,
        gettext_noop("EF no longer knows client %(id)s (deleted in EF?): looking for the customer again."),
        id=client_id,
    )


def _match_key(licence: Licence, customer: Customer) -> dict:
    """What the remembered match is kept under: licence, e-mail address, and VAT number or else name."""
    return {
        "licence": licence,
        "email": customer.email.strip().lower(),
        "vat_number": customer_vat_key(customer),
        "name": customer_name_key(customer),
    }


def _create_claimed(match: EfClientMatch | None, key: dict) -> EfClientMatch:
    """The match's row, marked (and committed) as creating the client now. Raises Deferred while an earlier
    create for this customer may still land in EF, or while another attempt is making the client."""
    now = timezone.now()
    marks = {"create_started_at": now, "create_settles_at": uncertain_create_settles_at(now)}
    if match is None:
        try:
            with transaction.atomic():
                return EfClientMatch.objects.create(**key, **marks)
        except IntegrityError:  # another attempt claimed it a moment ago
            match = EfClientMatch.objects.get(**key)
    if match.ef_client_id:  # made meanwhile by another attempt
        return match
    started: datetime | None = match.create_started_at
    if started is not None:
        settles = match.create_settles_at or uncertain_create_settles_at(started)
        if now < settles:
            raise Deferred(settles, Text(TOO_EARLY, time=f"{timezone.localtime(settles):%H:%M:%S}"))
    # EF must have finished with the earlier create and the look-up just made found nothing: create, unless
    # another attempt took the row over first.
    taken = EfClientMatch.objects.filter(
        pk=match.pk, ef_client_id__isnull=True, create_started_at=started
    ).update(**marks)
    if not taken:
        raise Deferred(now, Text(TOO_EARLY, time=f"{timezone.localtime(now):%H:%M:%S}"))
    return match


def _remember(key: dict, client_id: int) -> None:
    updated = EfClientMatch.objects.filter(**key).update(
        ef_client_id=client_id, create_started_at=None, create_settles_at=None
    )
    if not updated:
        try:
            with transaction.atomic():
                EfClientMatch.objects.create(**key, ef_client_id=client_id)
        except IntegrityError:
            pass  # another attempt remembered it a moment ago


def _note(order: Order, template: str, **params: object) -> None:
    order_event_add(order, OrderEvent.Kind.EF, Text(template, **params))
