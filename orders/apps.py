from typing import Any

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from licenses.signals import licence_ready

        licence_ready.connect(_licence_ready, dispatch_uid="orders-licence-resume")


def _licence_ready(sender: Any, licence: Any, **kwargs: Any) -> None:
    """Resume the licence's held orders in a worker, not in the request that reconnected."""
    from .queue import enqueue

    enqueue("orders.tasks.licence_resume_task", licence.pk)
