"""Staff admin for licences and merchant logins. Secrets are never shown, only their last characters."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .encryption import mask
from .installation import licence_resume
from .models import CONFIG_FIELDS, Licence, LicenceState, MerchantAccess


class MerchantAccessInline(admin.TabularInline):
    model = MerchantAccess
    extra = 0
    fields = ("user", "hidden", "created_at")
    # Hiding a licence from a merchant's dropdown is the action "Remove from the merchant's dropdown"
    # under Merchant logins, where it says what it did; here it is shown, not edited.
    readonly_fields = ("hidden", "created_at")
    raw_id_fields = ("user",)
    verbose_name = "merchant login"
    verbose_name_plural = "merchant logins (hide an old key: Merchant logins → action)"


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "company_name",
        "contact_email",
        "store_id",
        "state",
        "trial_ends_at",
        "paid_until",
        "shop_status",
        "ef_status",
    )
    list_filter = ("state", "shop_status", "ef_status")
    search_fields = ("key", "contact_email", "company_name", "store_id", "access__user__email")
    inlines = [MerchantAccessInline]
    actions = ["activate_one_year", "extend_thirty_days", "cancel"]

    def has_delete_permission(self, request: HttpRequest, obj: Licence | None = None) -> bool:
        # Deleting a licence deletes its orders, invoices' records and OSS evidence (kept 10 years):
        # only a licence without orders can go; others are cancelled or hidden instead.
        if obj is not None and obj.orders.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # would delete licences with orders, past the check above
        return actions

    readonly_fields = (
        "key",
        "install_token_masked",
        "install_token_issued_at",
        "created_at",
        "cancelled_at",
        "shop_token_masked",
        "ef_api_key_masked",
        "shop_profile",
        "ef_account_number",
        "ef_account_name",
        "ef_vat_rates",
        "ef_layouts",
        "shop_checked_at",
        "ef_checked_at",
        "last_synced_at",
        "configured_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "key",
                    "state",
                    "trial_ends_at",
                    "paid_until",
                    "company_name",
                    "shop_url",
                    "contact_email",
                    "created_at",
                    "cancelled_at",
                    "install_token_masked",
                    "install_token_issued_at",
                )
            },
        ),
        (
            "KMO Shops",
            {
                "fields": (
                    "store_id",
                    "shop_token_masked",
                    "shop_status",
                    "shop_status_reason",
                    "shop_checked_at",
                    "shop_profile",
                    "last_synced_at",
                )
            },
        ),
        (
            "EenvoudigFactureren",
            {
                "fields": (
                    "ef_api_key_masked",
                    "ef_account_number",
                    "ef_account_name",
                    "ef_vat_rates",
                    "ef_layouts",
                    "ef_status",
                    "ef_status_reason",
                    "ef_checked_at",
                )
            },
        ),
        ("Configuration", {"fields": CONFIG_FIELDS}),
    )

    @admin.display(description="Installation link token")
    def install_token_masked(self, obj: Licence) -> str:
        return mask(obj.install_token)

    @admin.display(description="KMO Shops token")
    def shop_token_masked(self, obj: Licence) -> str:
        return obj.shop_token_masked

    @admin.display(description="EF API key")
    def ef_api_key_masked(self, obj: Licence) -> str:
        return obj.ef_api_key_masked

    def _log(self, request: HttpRequest, licence: Licence, text: str) -> None:
        self.log_change(request, licence, text)

    @admin.action(
        description="Activate (paid for one year from today or from the current end)", permissions=["change"]
    )
    def activate_one_year(self, request: HttpRequest, queryset: QuerySet[Licence]) -> None:
        for licence in queryset:
            start = max(timezone.now(), licence.paid_until or timezone.now())
            licence.state = LicenceState.ACTIVE
            licence.paid_until = start + timedelta(days=365)
            licence.save(update_fields=["state", "paid_until"])
            self._log(request, licence, f"Activated until {licence.paid_until:%Y-%m-%d}")
            licence_resume(licence)
        messages.success(request, f"{queryset.count()} licence(s) activated.")

    @admin.action(description="Extend by 30 days (trial or paid period)", permissions=["change"])
    def extend_thirty_days(self, request: HttpRequest, queryset: QuerySet[Licence]) -> None:
        for licence in queryset:
            if licence.state == LicenceState.ACTIVE:
                licence.paid_until = max(timezone.now(), licence.paid_until or timezone.now()) + timedelta(
                    days=30
                )
            else:
                licence.state = LicenceState.TRIAL
                licence.trial_ends_at = max(timezone.now(), licence.trial_ends_at) + timedelta(days=30)
            licence.save(update_fields=["state", "paid_until", "trial_ends_at"])
            self._log(request, licence, "Extended by 30 days")
            licence_resume(licence)
        messages.success(request, f"{queryset.count()} licence(s) extended.")

    @admin.action(description="Cancel (stop processing; data is kept)", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Licence]) -> None:
        for licence in queryset:
            licence.state = LicenceState.CANCELLED
            licence.cancelled_at = timezone.now()
            licence.save(update_fields=["state", "cancelled_at"])
            self._log(request, licence, "Cancelled by staff")
        messages.success(request, f"{queryset.count()} licence(s) cancelled.")


@admin.register(MerchantAccess)
class MerchantAccessAdmin(admin.ModelAdmin):
    list_display = ("user", "licence", "in_dropdown", "created_at")
    list_filter = ("hidden",)
    search_fields = ("user__email", "user__username", "licence__key")
    raw_id_fields = ("user", "licence")
    actions = ["remove_from_dropdown", "show_in_dropdown"]

    @admin.display(description="in the merchant's dropdown", boolean=True)
    def in_dropdown(self, obj: MerchantAccess) -> bool:
        return not obj.hidden

    @admin.action(
        description="Remove from the merchant's dropdown (an old licence key)", permissions=["change"]
    )
    def remove_from_dropdown(self, request: HttpRequest, queryset: QuerySet[MerchantAccess]) -> None:
        self._set_hidden(request, queryset, hidden=True)

    @admin.action(description="Show in the merchant's dropdown again", permissions=["change"])
    def show_in_dropdown(self, request: HttpRequest, queryset: QuerySet[MerchantAccess]) -> None:
        self._set_hidden(request, queryset, hidden=False)

    def _set_hidden(self, request: HttpRequest, queryset: QuerySet[MerchantAccess], *, hidden: bool) -> None:
        pairs = [
            f"{access.licence.key} for {access.user.email}"
            for access in queryset.select_related("licence", "user")
        ]
        queryset.update(hidden=hidden)
        verb = "no longer shows" if hidden else "shows again"
        for pair in pairs:
            key, user = pair.split(" for ")
            messages.success(request, f"The dropdown of {user} {verb} licence {key}.")
