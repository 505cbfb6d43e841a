"""Every topic operation, declared once: its event, RBAC action, resource, request and execution.

Pages and the API check their input with ``topics/validation.py``, build an operation
here from the result and hand it to ``run``, which passes it through the audit gate.
Input that failed its check still becomes an operation: the gate decides and records
it, and executing it answers the input error without touching Kafka — so a refused
create, an unknown config key or a message that is too large leaves a ``failed`` record.

Every mutation carries its checked input in the API's JSON shape (``Operation.stored``:
``{"event", "cluster", "name", "data"}``), and ``rebuild`` builds it again from that,
checking it again: so a Stage policy can hold it as a request for approval, and the
approved request runs exactly what was asked (``audit.staging``).

| event                        | RBAC action     | type             |
|------------------------------|-----------------|------------------|
| mutation/create-topic        | TOPIC_CREATE    | mutation/request |
| mutation/delete-topic        | TOPIC_DELETE    | mutation/request |
| mutation/edit-topic-config   | TOPIC_EDIT      | mutation/request |
| mutation/produce             | TOPIC_PRODUCE   | mutation/request |
| mutation/truncate-topic      | TOPIC_TRUNCATE  | mutation/request |
| query/inspect-topic-data     | TOPIC_INSPECT   | query/request    |
| query/download-topic-data    | TOPIC_DATA_DOWNLOAD | query/request |
| mutation/reset-group-offsets | GROUP_EDIT      | mutation/request |
| query/preview-group-offsets  | GROUP_EDIT      | query/request    |
| mutation/delete-group        | GROUP_DELETE    | mutation/request |

The consumer-group operations are built in ``topics/group_operations.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from audit import gate
from audit.gate import AuditUnavailable, Ctx, Operation, Outcome, ctx_from_request
from audit.models import AuditRecord
from audit.records import Payload
from lib.errors import OperationError
from rbac import actions
from rbac.roles import actor_for_user
from topics import kafka, validation
from topics.browse import BrowsePage, BrowseQuery, browse_page
from topics.masking import audit_summary
from topics.models import Cluster, primary_cluster
from topics.validation import (
    Checked,
    ConfigChange,
    NewMessage,
    NewTopic,
    config_change_given,
    create_given,
    message_given,
    read_given,
    text,
)

MUTATION, QUERY = "mutation/request", "query/request"

# event -> (RBAC action, record type): the whole catalogue of topic operations.
OPERATIONS: dict[str, tuple[str, str]] = {
    "mutation/create-topic": (actions.TOPIC_CREATE, MUTATION),
    "mutation/delete-topic": (actions.TOPIC_DELETE, MUTATION),
    "mutation/edit-topic-config": (actions.TOPIC_EDIT, MUTATION),
    "mutation/produce": (actions.TOPIC_PRODUCE, MUTATION),
    "mutation/truncate-topic": (actions.TOPIC_TRUNCATE, MUTATION),
    "query/inspect-topic-data": (actions.TOPIC_INSPECT, QUERY),
    "query/download-topic-data": (actions.TOPIC_DATA_DOWNLOAD, QUERY),
    "mutation/reset-group-offsets": (actions.GROUP_EDIT, MUTATION),
    "query/preview-group-offsets": (actions.GROUP_EDIT, QUERY),
    "mutation/delete-group": (actions.GROUP_DELETE, MUTATION),
}


def topic_resource(cluster_id: str, name: str) -> list[str]:
    return ["cluster", cluster_id, "topic", name]


@dataclass(frozen=True)
class Target:
    """The cluster a URL names, looked up once per request; ``cluster`` None if unknown."""

    key: str
    cluster: Cluster | None

    @property
    def id(self) -> str:
        """How operations and records name the cluster: its Kafka id, else what was given."""
        return self.cluster.key if self.cluster else self.key

    def require(self) -> Cluster:
        if self.cluster is None:
            raise kafka.UnknownCluster(f"no cluster {self.key!r} is registered")
        return self.cluster


def target(key: str) -> Target:
    """The cluster a URL names: by Kafka cluster id, or by name until the id is discovered."""
    primary_cluster()
    if "\x00" in key:  # no cluster has one, and PostgreSQL refuses it in a query (a 500)
        return Target(key, None)
    found = (
        Cluster.objects.filter(kafka_cluster_id=key).first()
        or Cluster.objects.filter(name=key).first()
    )
    return Target(key, found)


def gate_operation(
    event: str,
    where: Target,
    name: str,
    request: dict,
    checked: Checked,
    run: Callable[[Cluster], Any],
    sensitive_keys: set[str] | None = None,
    given: dict | None = None,
    *,
    resource: list[str] | None = None,
    previews: bool = False,
) -> Operation:
    """``given``: the checked input as the API takes it (None: it cannot be staged);
    ``resource`` defaults to the topic ``name``; ``previews``: see ``Operation``."""
    action, record_type = OPERATIONS[event]
    stored = None
    if given is not None and checked.error is None:
        stored = {"event": event, "cluster": where.id, "name": name, "data": given}

    def execute() -> Any:
        if checked.error is not None:
            raise checked.error
        return run(where.require())

    return Operation(
        event=event,
        action=action,
        resource=resource or topic_resource(where.id, name),
        request=request,
        execute=execute,
        type=record_type,
        sensitive_keys=sensitive_keys if sensitive_keys is not None else set(),
        stored=stored,
        input_error=checked.error,
        previews=previews,
    )


def topic_create(where: Target, checked: Checked[NewTopic], data: Mapping) -> Operation:
    new = checked.value
    if new is None:
        request = create_given(data)
    else:
        request = {
            "topic-name": new.name,
            "replication-factor": str(new.replication_factor),
            "partitions": str(new.partitions),
            "config-items": dict(new.configs),
        }
    return gate_operation(
        "mutation/create-topic",
        where,
        request["topic-name"],
        request,
        checked,
        lambda cluster: kafka.create_topic(
            cluster,
            name=new.name,
            partitions=new.partitions,
            replication_factor=new.replication_factor,
            configs=new.configs,
        ),
        given=None if new is None else _topic_given(new),
    )


def _topic_given(new: NewTopic) -> dict:
    return {
        "name": new.name,
        "partitions": new.partitions,
        "replication_factor": new.replication_factor,
        "configs": dict(new.configs),
    }


def topic_delete(where: Target, name: str, checked: Checked) -> Operation:
    return gate_operation(
        "mutation/delete-topic",
        where,
        name,
        {"topic-name": name},
        checked,
        lambda cluster: kafka.delete_topic(cluster, name),
        given={},
    )


def topic_truncate(where: Target, name: str, checked: Checked) -> Operation:
    return gate_operation(
        "mutation/truncate-topic",
        where,
        name,
        {"topic-name": name},
        checked,
        lambda cluster: kafka.truncate_topic(cluster, name),
        given={},
    )


def topic_configs_edit(
    where: Target, name: str, checked: Checked[ConfigChange], data: Mapping
) -> Operation:
    """Incremental alter. The values before the change are read only once the gate has let
    the change through, and kept in the record (secret ones redacted)."""
    change = checked.value or config_change_given(data)
    named = [*change.set_items, *change.reset_keys]
    request = {
        "topic-name": name,
        "config-items": dict(change.set_items),
        "reset-config-items": list(change.reset_keys),
        "previous-config-items": dict.fromkeys(named),
    }
    sensitive: set[str] = set()

    def run(cluster: Cluster) -> dict:
        before = kafka.topic_configs(cluster, name)
        sensitive.update(key for key, entry in before.items() if entry.sensitive)
        request["previous-config-items"] = {
            key: before[key].value if key in before else None for key in named
        }
        return kafka.alter_topic_configs(
            cluster, name, set_items=change.set_items, reset_keys=change.reset_keys
        )

    given = {"set": dict(change.set_items), "reset": list(change.reset_keys)}
    return gate_operation(
        "mutation/edit-topic-config", where, name, request, checked, run, sensitive, given
    )


def message_produce(
    where: Target, name: str, checked: Checked[NewMessage], data: Mapping
) -> Operation:
    """Key, value and header values are recorded as size + sha256 (``Payload``)."""
    message = checked.value or message_given(data)
    request = {
        "topic-name": name,
        "partition": text(data.get("partition")),
        "key": Payload(message.key),
        "value": Payload(message.value),
        "headers": {header: Payload(value) for header, value in message.headers},
    }
    return gate_operation(
        "mutation/produce",
        where,
        name,
        request,
        checked,
        lambda cluster: kafka.produce(
            cluster,
            name,
            key=message.key,
            value=message.value,
            headers=message.headers,
            partition=message.partition,
        ),
        given=None if checked.value is None else _message_given(checked.value),
    )


def _message_given(message: NewMessage) -> dict | None:
    """A message as the API takes it (base64); None if its headers repeat a name (the API's
    object of headers cannot say that: such a message is not staged)."""
    headers = {name: value.decode("utf-8") for name, value in message.headers if value is not None}
    if len(headers) != len(message.headers):
        return None

    def encoded(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode("ascii")

    return {
        "encoding": "base64",
        "key": encoded(message.key),
        "value": encoded(message.value),
        "headers": headers,
        "partition": message.partition,
    }


def messages_read(
    where: Target,
    name: str,
    checked: Checked[BrowseQuery],
    data: Mapping,
    *,
    roles: Sequence[str],
    download: bool = False,
) -> Operation:
    """Read a page of messages (or download it, ``TOPIC_DATA_DOWNLOAD``), masked by the data
    policies for a reader holding ``roles``, filtered after masking. The record keeps the
    query as the user wrote it, what the scan did and the data policies that applied."""
    request = {"topic-name": name, **read_given(data)}

    def run(cluster: Cluster) -> BrowsePage:
        page = browse_page(cluster, name, checked.value, cluster_id=where.id, roles=roles)
        request.update(
            {"scanned": page.scanned, "matched": page.matched, "partial?": page.read.partial}
        )
        request.update(audit_summary(page.read))
        return page

    event = "query/download-topic-data" if download else "query/inspect-topic-data"
    return gate_operation(event, where, name, request, checked, run)


def rebuild(stored: dict) -> Operation:
    """The mutation ``stored`` (``Operation.stored``) describes, its input checked again."""
    event, where, name = stored["event"], target(str(stored["cluster"])), str(stored["name"])
    data = stored["data"] if isinstance(stored.get("data"), dict) else {}
    if event == "mutation/create-topic":
        return topic_create(where, validation.check_create(data), data)
    if event == "mutation/edit-topic-config":
        return topic_configs_edit(where, name, validation.check_config_change(data), data)
    if event == "mutation/produce":
        return message_produce(where, name, validation.check_message(data), data)
    if event == "mutation/delete-topic":
        return topic_delete(where, name, CONFIRMED)
    if event == "mutation/truncate-topic":
        return topic_truncate(where, name, CONFIRMED)
    raise OperationError(f"no topic operation {event!r} can be run again", code="not_rebuildable")


STAGEABLE = (
    "mutation/create-topic",
    "mutation/delete-topic",
    "mutation/edit-topic-config",
    "mutation/produce",
    "mutation/truncate-topic",
)
CONFIRMED = Checked(True)  # the typed name was checked when the request was made


def refused(error: OperationError) -> Checked:
    """Input that could not even be read (too large, not JSON): the operation fails with it."""
    return Checked(None, error)


def run(user, operation: Operation, ctx: Ctx) -> Outcome:
    """Pass the operation through the gate for ``user``; one audit record, whatever happens.

    When the record cannot be written the gate refuses (AuditUnavailable): that is
    answered as a 503 without a record.
    """
    try:
        outcome = gate.perform(actor_for_user(user), operation, ctx)
    except AuditUnavailable as exc:  # the message says whether the action happened
        return Outcome(AuditRecord.FAILED, error=exc.message, code=exc.code, http_status=503)
    if outcome.http_status >= 500:
        outcome.http_status = 503  # an unexpected failure is logged; the user gets an answer
    return outcome


def run_request(request: HttpRequest, operation: Operation, *, via: str) -> Outcome:
    """``run`` for the signed-in user of a page or API request."""
    ctx = ctx_from_request(request, via=via, cluster_id=operation.resource[1])
    return run(request.user, operation, ctx)
