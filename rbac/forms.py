"""Forms: policies and access settings in Django admin, policy import, the simulator."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from rbac.actions import CATALOGUE
from rbac.models import AccessSettings, Policy
from rbac.validation import check_role_list, target_errors

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class ListField(forms.CharField):
    """A JSON list of strings edited as text: ``a, b, c`` (commas or new lines) or JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 80}))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list:
        if isinstance(value, list):
            return value
        text = (value or "").strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return parsed
            text = text[1:-1]  # [a, *, b]: not JSON, read as a comma-separated list
        items = [item.strip() for line in text.splitlines() for item in line.split(",")]
        return [_unquote(item) for item in items if item]


def _unquote(item: str) -> str:
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "\"'":
        return item[1:-1]
    return item


class PolicyForm(forms.ModelForm):
    """A policy; the model's ``clean`` applies the same validation as import and the API."""

    resource = ListField(
        help_text="cluster, ID or *  — or — cluster, ID or *, topic (or group), NAME (NAME: "
        "exact, *, prefix* or *suffix). Example: cluster, *, topic, tx-*"
    )
    actions = ListField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="comma-separated, from: " + ", ".join(CATALOGUE),
    )
    roles = ListField(help_text="comma-separated role names; * is anyone")

    class Meta:
        model = Policy
        fields = ["resource", "effect", "actions", "roles", "description", "enabled", "position"]


class AccessSettingsForm(forms.ModelForm):
    """Role lists edited as text."""

    authorized_roles = ListField(required=False, help_text="who may use Flex at all; * is anyone")
    admin_roles = ListField(required=False, help_text="who opens the policy pages (superusers too)")
    auditor_roles = ListField(required=False, help_text="who reads everyone's audit log")

    class Meta:
        model = AccessSettings
        fields = ["authorized_roles", "admin_roles", "auditor_roles"]

    def clean(self) -> dict:
        data = super().clean()
        for name in ("authorized_roles", "admin_roles", "auditor_roles"):
            if name in data:
                data[name], problems = check_role_list(data[name], name)
                for problem in problems:
                    self.add_error(name, problem.message)
        return data


class ImportForm(forms.Form):
    file = forms.FileField(help_text="a policy file (YAML)")
    replace = forms.BooleanField(
        required=False, help_text="replace every policy with the file's (otherwise add new ones)"
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                f"{upload.name} is {upload.size} bytes; the limit is {MAX_IMPORT_BYTES}"
            )
        return upload.read()


class SimulateForm(forms.Form):
    """Who (a user, or roles typed), which action, on which cluster and topic (or group)."""

    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"),
        required=False,
        help_text="decide with this user's roles",
    )
    roles = ListField(
        required=False, help_text="or type roles, comma-separated (added to the user's)"
    )
    action = forms.ChoiceField(choices=[(name, name) for name in CATALOGUE])
    cluster = forms.CharField(max_length=200, help_text="cluster id")
    topic = forms.CharField(max_length=300, required=False, help_text="topic name (optional)")
    group = forms.CharField(
        max_length=300, required=False, help_text="or a consumer group id (optional)"
    )

    def clean_roles(self) -> list[str]:
        roles, problems = check_role_list(self.cleaned_data["roles"], "roles")
        if problems:
            raise forms.ValidationError([problem.message for problem in problems])
        return roles

    def clean(self) -> dict:
        data = super().clean()
        if "cluster" in data:
            data["resource"] = ["cluster", data["cluster"]]
            if data.get("topic") and data.get("group"):
                self.add_error(None, "resource: name a topic or a group, not both")
            elif data.get("topic"):
                data["resource"] += ["topic", data["topic"]]
            elif data.get("group"):
                data["resource"] += ["group", data["group"]]
            for problem in target_errors(data["resource"]):
                self.add_error(None, f"resource: {problem}")
        return data
