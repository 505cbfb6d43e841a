from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self) -> None:
        from approvals import requests
        from approvals.decisions import APPROVE, EXPIRE, REJECT
        from audit import events, staging, views

        events.register(APPROVE, REJECT, EXPIRE)

        # The gate stages through this hook, and the User log shows each user their pending
        # requests through this one: audit does not import approvals.
        staging.set_stager(requests.stage)
        views.USER_LOG_PANELS["pending_approvals"] = lambda user: list(requests.pending_for(user))
