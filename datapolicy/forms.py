"""Forms: data policies in Django admin, the import upload, the sandbox."""

from __future__ import annotations

import json

from django import forms

from datapolicy.models import DataPolicy, DataPolicySettings
from rbac.forms import MAX_IMPORT_BYTES, ListField


class DataPolicyForm(forms.ModelForm):
    """A data policy; the model's ``clean`` applies the import's checks."""

    fields = ListField(required=False, help_text="non-scalar: field names, e.g. pan, card_number")
    unmask_roles = ListField(required=False, help_text="roles that see the clear value")

    class Meta:
        model = DataPolicy
        fields = [
            "name",
            "category",
            "resources",
            "redaction",
            "policy_type",
            "fields",
            "unmask_roles",
            "position",
        ]


class ExclusionsForm(forms.ModelForm):
    excluded_topics = ListField(required=False, help_text="topic names or globs (tx-*, *-meta)")

    class Meta:
        model = DataPolicySettings
        fields = ["excluded_topics"]


class ImportForm(forms.Form):
    file = forms.FileField(help_text="a data-policy file (YAML)")
    replace = forms.BooleanField(required=False, help_text="the file's policies replace all")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"the file is over {MAX_IMPORT_BYTES} bytes")
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("the file is not UTF-8 text") from None


class SandboxForm(forms.Form):
    """A message pasted to see what a reader holding ``roles`` would see."""

    cluster = forms.CharField(required=False, help_text="a cluster id; empty: any cluster")
    topic = forms.CharField(max_length=249)
    roles = ListField(required=False, help_text="the reader's roles, e.g. member, fraud-team")
    key = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2}))
    value = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 8}))
    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='a JSON object: {"name": "value"}',
    )

    def clean_headers(self) -> dict:
        text = self.cleaned_data["headers"].strip()
        if not text:
            return {}
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"not JSON: {exc}") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise forms.ValidationError('must be a JSON object of strings: {"name": "value"}')
        return parsed
