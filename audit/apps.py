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
        _schedule_checkpoints()


def _schedule_checkpoints() -> None:
    """Checkpoints follow sealing by FLEX_AUDIT_CHECKPOINT_SECONDS (beat runs them too)."""
    from django.conf import settings

    from audit import ledger, scheduling

    scheduling.after_sealing(
        ledger.JOB, ledger.checkpoint, lambda: settings.FLEX_AUDIT_CHECKPOINT_SECONDS
    )
