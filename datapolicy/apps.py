from django.apps import AppConfig


class DataPolicyConfig(AppConfig):
    name = "datapolicy"
    verbose_name = "Data policies"

    def ready(self) -> None:
        from audit import events
        from datapolicy.recording import EDIT, PREVIEW

        events.register(EDIT, PREVIEW)
