from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from audit import (
            admin_audit,
            events,
            ledger,
            policy_audit,  # noqa: F401  (records RBAC changes and simulations)
            slack,  # noqa: F401  (registers the Slack sink)
            webhook,  # noqa: F401  (registers the webhook sink)
        )
        from audit.management.commands.audit_purge import PURGE_EVENT
        from audit.views import EXPORT_EVENT
        from rbac import signals

        admin_audit.install()  # users, groups, tokens, identities: audited in admin
        # The events audit writes itself, and RBAC's (rbac knows nothing of audit).
        events.register(EXPORT_EVENT, PURGE_EVENT, ledger.CHECKPOINT_TYPE, *signals.EVENTS)
        _schedule_checkpoints()


def _schedule_checkpoints() -> None:
    """Checkpoints follow sealing by FLEX_AUDIT_CHECKPOINT_SECONDS (beat runs them too)."""
    from django.conf import settings

    from audit import ledger, scheduling

    scheduling.after_sealing(
        ledger.JOB, ledger.checkpoint, lambda: settings.FLEX_AUDIT_CHECKPOINT_SECONDS
    )
