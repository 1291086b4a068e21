"""The Configuration tab's "Fetch earlier orders": count first, then fetch; thin over orders.backfill."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders.backfill import BackfillRefused, backfill_cancel, backfill_count_start, backfill_run_start
from orders.models import Backfill

from .selectors import licence_for_user


@login_required
@require_POST
def backfill(request: HttpRequest, key: str) -> HttpResponse:
    licence = licence_for_user(request.user, key)
    action = request.POST.get("action", "")
    try:
        if action == "count":
            try:
                since = date.fromisoformat(request.POST.get("since", ""))
            except ValueError:
                raise BackfillRefused(_("Choose the date from which to fetch orders.")) from None
            backfill_count_start(licence, since, actor=request.user.get_username())
        else:
            # Scoped to the licence: another merchant's backfill id is a 404, never theirs to start or stop.
            job = get_object_or_404(Backfill, pk=request.POST.get("backfill") or 0, licence=licence)
            if action == "run":
                backfill_run_start(job)
                messages.success(request, _("Fetching the orders; they appear under Open and then Report."))
            elif action == "cancel":
                backfill_cancel(job)
    except BackfillRefused as refused:
        messages.error(request, str(refused))
    return redirect(reverse("dashboard-configuration", args=[licence.key]) + "#backfill")
