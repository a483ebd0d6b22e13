from django.apps import AppConfig
from django.core.signals import request_finished


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core.request_id import clear_request_id

        request_finished.connect(clear_request_id, dispatch_uid="core.clear_request_id")
