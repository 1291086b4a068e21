"""`/api/v1/`: the merchant's REST API, its OpenAPI schema and documentation page."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from . import views

urlpatterns = [
    path("licence", views.LicenceView.as_view(), name="api-licence"),
    path("orders", views.OrderListView.as_view(), name="api-orders"),
    path("orders/<str:order_number>", views.OrderDetailView.as_view(), name="api-order"),
    path("orders/<str:order_number>/process", views.OrderProcessView.as_view(), name="api-order-process"),
    path("orders/<str:order_number>/ignore", views.OrderIgnoreView.as_view(), name="api-order-ignore"),
    path("tickets", views.TicketsView.as_view(), name="api-tickets"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
]
