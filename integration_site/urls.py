"""Top-level URL map."""

from django.contrib import admin
from django.urls import include, path

from orders.webhooks import kmoshops_webhook

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("webhooks/kmoshops/", kmoshops_webhook, name="kmoshops-webhook"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
