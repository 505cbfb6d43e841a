from django.apps import AppConfig


class FlexConfig(AppConfig):
    name = "flex"

    def ready(self) -> None:
        from audit import events
        from flex import checks  # noqa: F401  (registers the system checks)
        from flex.auth import LOGIN, LOGOUT, REFUSED
        from flex.middleware import OVERSIZED_EVENT
        from flex.tokens import API_REFUSED, TOKEN_EVENTS

        events.register(LOGIN, LOGOUT, REFUSED, OVERSIZED_EVENT, API_REFUSED, *TOKEN_EVENTS)
