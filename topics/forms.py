"""The topic pages' forms: how fields are drawn. What is valid is ``topics/validation.py``'s
business (the API checks with the same functions); ``bound`` shows its verdict on a form."""

from __future__ import annotations

from django import forms

from topics.validation import MAX_PARTITIONS, MAX_READ, READ_MODES, Checked

RESET_CHOICES = [
    ("earliest", "Earliest offset"),
    ("latest", "Latest offset (skip everything)"),
    ("offset", "An offset"),
    ("timestamp", "A time"),
    ("shift", "Shift by a number of messages"),
]


def bound(form: forms.Form, checked: Checked) -> forms.Form:
    """The form with the check's problems attached to its fields (``""``: the whole form)."""
    form.full_clean()
    for name, messages in checked.fields.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
    return form


def _number(**attrs) -> forms.NumberInput:
    return forms.NumberInput(attrs=attrs)


class TopicCreateForm(forms.Form):
    name = forms.CharField(required=False, max_length=None)
    partitions = forms.CharField(
        required=False, initial=1, widget=_number(min=1, max=MAX_PARTITIONS)
    )
    replication_factor = forms.CharField(required=False, initial=1, widget=_number(min=1))
    configs = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "retention.ms=604800000"}),
        help_text="One key=value per line, e.g. cleanup.policy=compact",
    )

    def __init__(self, *args, brokers: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if brokers:
            field = self.fields["replication_factor"]
            field.widget.attrs["max"] = brokers
            field.help_text = f"1 to {brokers} (brokers)"


class ConfigEditForm(forms.Form):
    set = forms.CharField(
        required=False,
        strip=False,
        label="Set",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "retention.ms=86400000"}),
        help_text="One key=value per line",
    )
    reset = forms.CharField(
        required=False,
        label="Reset to default",
        help_text="Config names, separated by spaces or commas",
    )


class ProduceForm(forms.Form):
    key = forms.CharField(required=False, strip=False, max_length=None)
    value = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 8}))
    headers = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "trace-id: abc123"}),
        help_text="One name: value per line",
    )
    partition = forms.CharField(
        required=False, widget=_number(min=0), help_text="Leave empty to let Kafka choose"
    )


class ReadForm(forms.Form):
    """The message browser's fields; ``MODE_FIELDS`` say which start point uses which."""

    MODE_FIELDS = {"offset": "offset", "timestamp": "timestamp"}

    mode = forms.CharField(
        required=False,
        initial="latest",
        label="Start",
        widget=forms.Select(choices=READ_MODES, attrs={"data-mode-select": ""}),
    )
    limit = forms.CharField(
        required=False, initial=50, label="Messages", widget=_number(min=1, max=MAX_READ)
    )
    partition = forms.CharField(required=False, widget=_number(min=0))
    offset = forms.CharField(required=False, widget=_number(min=0))
    timestamp = forms.CharField(
        required=False,
        label="From time (UTC)",
        help_text="2025-01-31T12:00 (UTC) or milliseconds since 1970",
    )
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "in key or value", "data-shortcut": "/"}
        ),
    )
    key = forms.CharField(required=False, label="Key is")
    header = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"placeholder": "name or name=value"})
    )
    expr = forms.CharField(
        required=False,
        label="Field filter",
        widget=forms.TextInput(attrs={"placeholder": "value.customer.id == '42'", "size": 30}),
        help_text="JMESPath; text in single quotes",
    )


class ConfirmNameForm(forms.Form):
    """The user types the topic's name to confirm a destructive action."""

    confirm = forms.CharField(label="Type the topic's name to confirm", required=False)


class GroupResetForm(forms.Form):
    """Where to move a consumer group's offsets on one topic (``topics/group_validation.py``)."""

    topic = forms.CharField(required=False)
    partitions = forms.CharField(
        required=False, help_text="Partition numbers separated by commas; empty for all"
    )
    to = forms.CharField(
        required=False,
        initial="earliest",
        label="Reset to",
        widget=forms.Select(choices=RESET_CHOICES),
    )
    value = forms.CharField(
        required=False,
        help_text="The offset; the time (2025-01-31T12:00 UTC, or milliseconds since 1970); "
        "or the shift (+/- messages). Not needed for earliest and latest",
    )


class ConfirmGroupForm(forms.Form):
    """The user types the group's id to confirm its deletion."""

    confirm = forms.CharField(label="Type the group's id to confirm", required=False)
