from django.apps import AppConfig


class FlexConfig(AppConfig):
    name = "flex"

    def ready(self) -> None:
        from flex import checks  # noqa: F401  (registers the system checks)
