from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from audit import (
            admin_audit,
            policy_audit,  # noqa: F401  (records RBAC changes and simulations)
            slack,  # noqa: F401  (registers the Slack sink)
            webhook,  # noqa: F401  (registers the webhook sink)
        )

        admin_audit.install()  # users, groups, tokens, identities: audited in admin
