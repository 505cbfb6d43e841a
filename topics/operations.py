"""Every topic operation, declared once: its event, RBAC action, resource, request and execution.

Views and the API validate input, build an operation here and hand it to ``run``,
which passes it through the audit gate. Input that failed validation still becomes
an operation (``failure=``): the gate decides and records it, and executing it
answers the validation error without touching Kafka — so a refused create, an
unknown config key or a message that is too large leaves a ``failed`` record.

| event                        | RBAC action     | type             |
|------------------------------|-----------------|------------------|
| mutation/create-topic        | TOPIC_CREATE    | mutation/request |
| mutation/delete-topic        | TOPIC_DELETE    | mutation/request |
| mutation/edit-topic-config   | TOPIC_EDIT      | mutation/request |
| mutation/produce             | TOPIC_PRODUCE   | mutation/request |
| mutation/truncate-topic      | TOPIC_TRUNCATE  | mutation/request |
| query/inspect-topic-data     | TOPIC_INSPECT   | query/request    |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import rbac
from audit import gate
from audit.gate import Ctx, Operation, OperationError, Outcome
from audit.models import AuditRecord
from audit.records import Payload
from rbac import actions
from rbac.actions import equivalents
from rbac.models import Policy
from rbac.roles import actor_for_user, is_authorized, roles_for_user
from topics import kafka
from topics.models import Cluster, primary_cluster

MUTATION, QUERY = "mutation/request", "query/request"

# event -> (RBAC action, record type): the whole catalogue of topic operations.
OPERATIONS: dict[str, tuple[str, str]] = {
    "mutation/create-topic": (actions.TOPIC_CREATE, MUTATION),
    "mutation/delete-topic": (actions.TOPIC_DELETE, MUTATION),
    "mutation/edit-topic-config": (actions.TOPIC_EDIT, MUTATION),
    "mutation/produce": (actions.TOPIC_PRODUCE, MUTATION),
    "mutation/truncate-topic": (actions.TOPIC_TRUNCATE, MUTATION),
    "query/inspect-topic-data": (actions.TOPIC_INSPECT, QUERY),
}


def topic_resource(cluster_id: str, name: str) -> list[str]:
    return ["cluster", cluster_id, "topic", name]


def find_cluster(key: str) -> Cluster | None:
    """The cluster a URL names: by Kafka cluster id, or by name until the id is discovered."""
    primary_cluster()
    if "\x00" in key:  # no cluster has one, and PostgreSQL refuses it in a query (a 500)
        return None
    return (
        Cluster.objects.filter(kafka_cluster_id=key).first()
        or Cluster.objects.filter(name=key).first()
    )


def _cluster(key: str) -> Cluster:
    cluster = find_cluster(key)
    if cluster is None:
        raise kafka.UnknownCluster(f"no cluster {key!r} is registered")
    return cluster


def _operation(
    event: str,
    *,
    cluster_id: str,
    name: str,
    request: dict,
    run: Callable[[Cluster], Any],
    failure: OperationError | None,
    sensitive_keys: Sequence[str] = (),
) -> Operation:
    action, record_type = OPERATIONS[event]

    def execute() -> Any:
        if failure is not None:
            raise failure
        return run(_cluster(cluster_id))

    return Operation(
        event=event,
        action=action,
        resource=topic_resource(cluster_id, name),
        request=request,
        execute=execute,
        type=record_type,
        sensitive_keys=frozenset(sensitive_keys),
    )


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def topic_create(
    *,
    cluster_id: str,
    name: str,
    partitions: int | str | None,
    replication_factor: int | str | None,
    config_items: dict[str, str],
    failure: OperationError | None = None,
) -> Operation:
    request = {
        "topic-name": name,
        "replication-factor": _text(replication_factor),
        "partitions": _text(partitions),
        "config-items": dict(config_items),
    }
    return _operation(
        "mutation/create-topic",
        cluster_id=cluster_id,
        name=name,
        request=request,
        failure=failure,
        run=lambda cluster: kafka.create_topic(
            cluster,
            name=name,
            partitions=int(partitions or 0),
            replication_factor=int(replication_factor or 0),
            configs=config_items,
        ),
    )


def topic_delete(*, cluster_id: str, name: str, failure: OperationError | None = None) -> Operation:
    return _operation(
        "mutation/delete-topic",
        cluster_id=cluster_id,
        name=name,
        request={"topic-name": name},
        failure=failure,
        run=lambda cluster: kafka.delete_topic(cluster, name),
    )


def topic_configs_edit(
    *,
    cluster_id: str,
    name: str,
    set_items: dict[str, str],
    reset_keys: list[str],
    before: dict[str, kafka.ConfigEntry] | None,
    failure: OperationError | None = None,
) -> Operation:
    """Incremental alter; the record keeps the values before the change."""
    before = before or {}
    request = {
        "topic-name": name,
        "config-items": dict(set_items),
        "reset-config-items": list(reset_keys),
        "previous-config-items": {
            key: before[key].value if key in before else None for key in [*set_items, *reset_keys]
        },
    }
    return _operation(
        "mutation/edit-topic-config",
        cluster_id=cluster_id,
        name=name,
        request=request,
        failure=failure,
        sensitive_keys=[key for key, entry in before.items() if entry.sensitive],
        run=lambda cluster: kafka.alter_topic_configs(
            cluster, name, set_items=set_items, reset_keys=reset_keys
        ),
    )


def message_produce(
    *,
    cluster_id: str,
    name: str,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes | None]],
    partition: int | str | None,
    failure: OperationError | None = None,
) -> Operation:
    """Key, value and header values are recorded as size + sha256 (``Payload``)."""
    request = {
        "topic-name": name,
        "partition": _text(partition),
        "key": Payload(key),
        "value": Payload(value),
        "headers": {header: Payload(data) for header, data in headers},
    }
    return _operation(
        "mutation/produce",
        cluster_id=cluster_id,
        name=name,
        request=request,
        failure=failure,
        run=lambda cluster: kafka.produce(
            cluster,
            name,
            key=key,
            value=value,
            headers=headers,
            partition=None if partition in (None, "") else int(partition),
        ),
    )


def topic_truncate(
    *, cluster_id: str, name: str, failure: OperationError | None = None
) -> Operation:
    return _operation(
        "mutation/truncate-topic",
        cluster_id=cluster_id,
        name=name,
        request={"topic-name": name},
        failure=failure,
        run=lambda cluster: kafka.truncate_topic(cluster, name),
    )


def messages_read(
    *,
    cluster_id: str,
    name: str,
    query: kafka.ReadQuery | None,
    given: dict[str, object],
    failure: OperationError | None = None,
) -> Operation:
    """Read messages; ``given`` is the query as the user wrote it (for the record)."""
    request = {"topic-name": name}
    request.update({key: _text(given.get(key)) for key in READ_FIELDS})
    return _operation(
        "query/inspect-topic-data",
        cluster_id=cluster_id,
        name=name,
        request=request,
        failure=failure,
        run=lambda cluster: kafka.read_messages(cluster, name, query or kafka.ReadQuery()),
    )


READ_FIELDS = ("mode", "limit", "partition", "offset", "timestamp")


def run(user, operation: Operation, ctx: Ctx) -> Outcome:
    """Pass the operation through the gate for ``user``; one audit record, whatever happens.

    A user outside ``authorized_roles`` may not use Flex at all: refused (and recorded)
    before any policy is consulted. When the record cannot be written the gate refuses
    (AuditUnavailable): that is answered as a 503 without a record.
    """
    try:
        outcome = _run(user, operation, ctx)
    except gate.OperationError as exc:  # AuditUnavailable: the message says what happened
        return Outcome(AuditRecord.FAILED, error=exc.message, code=exc.code, http_status=503)
    if outcome.http_status >= 500:
        outcome.http_status = 503  # an unexpected failure is logged; the user gets an answer
    return outcome


def _run(user, operation: Operation, ctx: Ctx) -> Outcome:
    actor = actor_for_user(user)
    if not is_authorized(user):
        error = "you are not authorized to use Flex"
        record = gate.record_event(
            actor=actor,
            type=operation.type,
            event=operation.event,
            request={**operation.request, "request/ctx": {"cluster-id": ctx.cluster_id}},
            ctx=ctx,
            status=AuditRecord.DENIED,
            error=error,
            action=operation.action,
            resource=operation.resource,
        )
        return Outcome(
            AuditRecord.DENIED, error=error, code="denied", http_status=403, record=record
        )
    return gate.perform(actor, operation, ctx)


def may(user, action: str, cluster_id: str, name: str) -> bool:
    """Whether to offer a control (display only: the gate decides when it is used)."""
    if not is_authorized(user):
        return False
    return rbac.decide(roles_for_user(user), action, topic_resource(cluster_id, name)).success


def may_somewhere(user, action: str, cluster_id: str) -> bool:
    """Whether some topic of the cluster may allow ``action`` (display only, e.g. Create)."""
    if may(user, action, cluster_id, "*"):
        return True
    if not is_authorized(user):
        return False
    roles = set(roles_for_user(user))
    names = equivalents(action)
    for policy in Policy.objects.filter(enabled=True, effect=Policy.ALLOW):
        if (
            names & set(policy.actions)
            and ("*" in policy.roles or roles & set(policy.roles))
            and len(policy.resource) >= 2
            and policy.resource[1] in ("*", cluster_id)
        ):
            return True
    return False
