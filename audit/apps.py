from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from audit import (
            admin_audit,
            policy_audit,  # noqa: F401  (records RBAC changes and simulations)
        )

        admin_audit.install()  # users, groups, tokens, identities: audited in admin
