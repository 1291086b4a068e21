from django.urls import path

from . import backfill_views, views

urlpatterns = [
    path("", views.home, name="dashboard-home"),
    path("<str:key>/report.csv", views.report_csv, name="dashboard-report-csv"),
    path("<str:key>/orders/<int:pk>/", views.order_detail, name="dashboard-order"),
    path("<str:key>/orders/<int:pk>/invoice.pdf", views.order_invoice_pdf, name="dashboard-invoice-pdf"),
    path("<str:key>/orders/<int:pk>/calls.csv", views.order_calls_csv, name="dashboard-order-calls"),
    path(
        "<str:key>/orders/<int:pk>/report-problem/",
        views.order_report_problem,
        name="dashboard-report-problem",
    ),
    path(
        "<str:key>/orders/<int:pk>/refund-amount/", views.order_refund_amount, name="dashboard-refund-amount"
    ),
    path("<str:key>/actions/process/", views.orders_process, name="dashboard-process"),
    path("<str:key>/actions/ignore/", views.orders_ignore, name="dashboard-ignore"),
    path(
        "<str:key>/actions/credit-and-reinvoice/",
        views.orders_credit_and_reinvoice,
        name="dashboard-credit-reinvoice",
    ),
    path("<str:key>/actions/sync/", views.sync_now, name="dashboard-sync"),
    path("<str:key>/ask/", views.ask_us, name="dashboard-ask"),
    path("<str:key>/tickets/", views.tickets, name="dashboard-tickets"),
    path("<str:key>/settings/configuration/", views.configuration, name="dashboard-configuration"),
    path("<str:key>/settings/configuration/backfill/", backfill_views.backfill, name="dashboard-backfill"),
    path("<str:key>/settings/connections/", views.connections, name="dashboard-connections"),
    path("<str:key>/settings/connections/kmoshops/", views.reconnect_shop, name="dashboard-reconnect-shop"),
    path("<str:key>/installation/", views.continue_installation, name="dashboard-installation"),
    path("<str:key>/settings/api-keys/", views.api_keys, name="dashboard-api-keys"),
    # Last: "<key>/<tab>/" would otherwise swallow "<key>/ask/".
    path("<str:key>/<str:tab>/", views.tab, name="dashboard-tab"),
]
