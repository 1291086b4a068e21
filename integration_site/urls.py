"""Top-level URL map."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.views import PasswordResetView, ThrottledLoginView
from orders.webhooks import kmoshops_webhook

from .health import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("webhooks/kmoshops/", kmoshops_webhook, name="kmoshops-webhook"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/set/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("dashboard/", include("dashboard.urls")),
    path("api/v1/", include("dashboard.api.urls")),
    path("", include("licenses.urls")),
]

if settings.BENCH_BASELINE_VIEW:
    from .bench_baseline import one_insert

    urlpatterns.insert(0, path("bench/one-insert/", one_insert))
