from django.urls import path

from . import views

urlpatterns = [
    path("", views.integrations, name="integrations"),
    path("signup/", views.signup, name="signup"),
    path("install/callback/", views.install_kmoshops_callback, name="install-kmoshops-callback"),
    path("install/<str:token>/", views.install, name="install"),
    path("install/<str:token>/kmoshops/", views.install_kmoshops_connect, name="install-kmoshops"),
    path("install/<str:token>/ef/", views.install_ef_connect, name="install-ef"),
    path("install/<str:token>/configuration/", views.install_configuration, name="install-configuration"),
    path("install/<str:token>/password/", views.install_password, name="install-password"),
]
