"""REST API v1: thin views over the dashboard's own selectors and the orders' actions (one set of rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from licenses.models import Licence
from orders.actions import ActionResult, order_ignore, order_process_again
from orders.models import Order, OrderState
from orders.texts import shown

from ..models import Ticket
from ..selectors import API_TABS, Period, orders_for_tab, tickets_for_licence
from ..tickets import TooManyTickets, ticket_create
from .authentication import ApiKeyAuthentication, PerKeyThrottle
from .errors import Refused
from .serializers import (
    ActionResultSerializer,
    ErrorSerializer,
    LicenceSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    TicketCreateSerializer,
    TicketSerializer,
)

ERRORS = {401: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer}


class LicenceApi(APIView):
    """Every endpoint: a Bearer key, a throttle per key, the key's licence and nothing else."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [PerKeyThrottle]

    @property
    def licence(self) -> Licence:
        return self.request.user.licence

    def order(self, order_number: str) -> Order:
        return get_object_or_404(Order, licence=self.licence, order_number=order_number)


class LicenceView(LicenceApi):
    @extend_schema(
        summary="The licence: state, connections, configuration", responses={200: LicenceSerializer, **ERRORS}
    )
    def get(self, request: Request) -> Response:
        return Response(LicenceSerializer(self.licence).data)


class OrderCursor(CursorPagination):
    ordering = "-id"  # newest first; a cursor stays valid while new orders arrive
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _date(value: str | None, name: str) -> None:
    if value:
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise ValidationError({name: _("Use a date as YYYY-MM-DD.")}) from None


class OrderListView(LicenceApi, ListAPIView):
    serializer_class = OrderSerializer
    pagination_class = OrderCursor

    @extend_schema(
        summary="Orders, newest first",
        parameters=[
            OpenApiParameter(
                "tab", str, enum=list(API_TABS), description="open, report, errors, ignored or all (default)"
            ),
            OpenApiParameter("state", str, enum=[s.value for s in OrderState], description="one order state"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="created (Report: handled) on or after"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="created (Report: handled) on or before"),
            OpenApiParameter(
                "q", str, description="order number, customer, e-mail or invoice number contains"
            ),
            OpenApiParameter(
                "updated_since", OpenApiTypes.DATETIME, description="changed at or after (ISO 8601)"
            ),
        ],
        responses={200: OrderSerializer(many=True), 400: ErrorSerializer, **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Order]:
        params = self.request.query_params
        tab = params.get("tab", "all")
        if tab not in API_TABS:
            raise ValidationError({"tab": _("One of: %(tabs)s.") % {"tabs": ", ".join(API_TABS)}})
        _date(params.get("from"), "from")
        _date(params.get("to"), "to")
        period = Period.from_query(params) if params.get("from") or params.get("to") else None
        orders = orders_for_tab(self.licence, tab, period=period, search=params.get("q", "")[:100])
        state = params.get("state")
        if state:
            if state not in OrderState.values:
                raise ValidationError(
                    {"state": _("One of: %(tabs)s.") % {"tabs": ", ".join(OrderState.values)}}
                )
            orders = orders.filter(state=state)
        since = params.get("updated_since")
        if since:
            moment = parse_datetime(since)
            if moment is None or moment.tzinfo is None:
                raise ValidationError({"updated_since": _("Use an ISO 8601 date and time with its offset.")})
            orders = orders.filter(updated_at__gte=moment)
        return orders.prefetch_related("follow_ups")


class OrderDetailView(LicenceApi):
    @extend_schema(
        summary="One order, with its timeline and how to fix its error",
        responses={200: OrderDetailSerializer, **ERRORS},
    )
    def get(self, request: Request, order_number: str) -> Response:
        return Response(OrderDetailSerializer(self.order(order_number)).data)


class _OrderAction(LicenceApi):
    def act(self, order_number: str, action: Any) -> Response:
        order = self.order(order_number)
        result: ActionResult = action(
            licence=self.licence, order_ids=[order.pk], actor=self.request.user.get_username()
        )
        if order.order_number in result.refused:
            raise Refused(shown(result.refused[order.order_number]))
        order.refresh_from_db()
        return Response({"order": OrderSerializer(order).data}, status=status.HTTP_202_ACCEPTED)


class OrderProcessView(_OrderAction):
    @extend_schema(
        summary="Process the order again (the Process button)",
        request=None,
        responses={202: ActionResultSerializer, 409: ErrorSerializer, **ERRORS},
    )
    def post(self, request: Request, order_number: str) -> Response:
        return self.act(order_number, order_process_again)


class OrderIgnoreView(_OrderAction):
    @extend_schema(
        summary="Ignore the order (the Ignore button)",
        request=None,
        responses={202: ActionResultSerializer, 409: ErrorSerializer, **ERRORS},
    )
    def post(self, request: Request, order_number: str) -> Response:
        return self.act(order_number, order_ignore)


class TicketsView(LicenceApi):
    @extend_schema(
        summary="Your questions and problem reports, with support's answers",
        responses={200: TicketSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(TicketSerializer(tickets_for_licence(self.licence), many=True).data)

    @extend_schema(
        summary="Ask us, or report a problem with an order",
        request=TicketCreateSerializer,
        responses={201: TicketSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        incoming = TicketCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        number = incoming.validated_data.get("order_number")
        order = self.order(number) if number else None
        try:
            ticket = ticket_create(
                licence=self.licence,
                user=None,
                kind=Ticket.Kind.PROBLEM if order else Ticket.Kind.QUESTION,
                message=incoming.validated_data["message"],
                order=order,
            )
        except TooManyTickets as exc:
            raise Throttled(3600, str(_("Too many tickets this hour."))) from exc
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)
