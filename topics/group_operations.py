"""Every consumer-group operation, declared once, as ``topics/operations.py`` declares topic ones.

| event                        | RBAC action  | type             | built by                |
|------------------------------|--------------|------------------|-------------------------|
| query/preview-group-offsets  | GROUP_EDIT   | query/request    | ``group_offsets_reset`` |
| mutation/reset-group-offsets | GROUP_EDIT   | mutation/request | ``group_offsets_reset`` |
| mutation/delete-group        | GROUP_DELETE | mutation/request | ``group_delete``        |

A preview is a reset with ``dry_run`` (the default).

Each builder takes ``(where, name, checked, data)``: the cluster, the group id, the input
checked by ``topics/group_validation.py`` and the input as given (the API's JSON body, a
page's POST). A reset or a deletion that a Stage policy holds is stored as the API's JSON
input and built again by ``rebuild`` when it is approved; a preview runs under Stage (it
changes nothing). The resource is
``["cluster", id, "group", name]``; the record keeps the plan (``changes``: ``from`` and
``to`` per partition; for a deletion, the offsets it removed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from audit.gate import Operation
from lib.errors import OperationError
from topics import kafka
from topics.group_validation import (
    Reset,
    check_delete,
    check_reset,
    dry_run_given,
    reset_given,
    reset_input,
    reset_request,
)
from topics.models import Cluster
from topics.operations import Target, gate_operation, target
from topics.validation import Checked

PREVIEW, RESET, DELETE = (
    "query/preview-group-offsets",
    "mutation/reset-group-offsets",
    "mutation/delete-group",
)


def group_resource(cluster_id: str, name: str) -> list[str]:
    return ["cluster", cluster_id, "group", name]


def _group_operation(
    event: str,
    where: Target,
    name: str,
    request: dict,
    checked: Checked,
    run: Callable[[Cluster], list[kafka.OffsetChange]],
    answer: Mapping | None = None,
    given: dict | None = None,
) -> Operation:
    """The plan ``run`` answers is kept in the record and answered, after ``answer``;
    ``given``: the input to store when a Stage policy holds the change (None for a preview,
    which runs under Stage as it changes nothing)."""

    def execute(cluster: Cluster) -> dict:
        request["changes"] = [change.as_json() for change in run(cluster)]
        return {**(answer or {}), "changes": request["changes"]}

    return gate_operation(
        event,
        where,
        name,
        request,
        checked,
        execute,
        given=given,
        resource=group_resource(where.id, name),
        previews=event == PREVIEW,
    )


def group_offsets_reset(
    where: Target, name: str, checked: Checked[Reset], data: Mapping
) -> Operation:
    """A reset, or with ``dry_run`` (the default) its preview: the plan, nothing moved."""
    reset = checked.value
    dry_run = reset.dry_run if reset is not None else dry_run_given(data)
    given = reset_request(reset) if reset is not None else reset_given(data)
    request = {"group-id": name, **given, "changes": []}
    move = kafka.plan_reset if dry_run else kafka.reset_offsets
    return _group_operation(
        PREVIEW if dry_run else RESET,
        where,
        name,
        request,
        checked,
        lambda cluster: move(cluster, name, reset.spec),
        {"dry_run": dry_run},
        None if reset is None or dry_run else reset_input(reset),
    )


def group_delete(where: Target, name: str, checked: Checked, data: Mapping) -> Operation:
    """Delete an empty group; the record keeps the committed offsets it removed."""
    return _group_operation(
        DELETE,
        where,
        name,
        {"group-id": name, "changes": []},
        checked,
        lambda cluster: kafka.delete_group(cluster, name),
        given={},
    )


STAGEABLE = (RESET, DELETE)


def rebuild(stored: dict) -> Operation:
    """The change ``stored`` (``Operation.stored``) describes, its input checked again."""
    event, where, name = stored["event"], target(str(stored["cluster"])), str(stored["name"])
    data = stored["data"] if isinstance(stored.get("data"), dict) else {}
    if event == RESET:
        operation = group_offsets_reset(where, name, check_reset(data, group=name), data)
    elif event == DELETE:
        operation = group_delete(where, name, check_delete(data, group=name), data)
    else:
        operation = None
    if operation is None or operation.event != event:  # a reset stored as a dry run
        raise OperationError(
            f"no group operation {event!r} can be run again", code="not_rebuildable"
        )
    return operation
