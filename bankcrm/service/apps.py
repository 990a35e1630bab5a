from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "bankcrm.service"
    label = "service"
    verbose_name = "服务 Service"

    def ready(self) -> None:
        pass
