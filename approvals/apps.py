from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self) -> None:
        from approvals import requests
        from audit import staging

        # The gate stages through this hook: audit does not import approvals.
        staging.set_stager(requests.stage)
