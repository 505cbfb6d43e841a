"""``manage.py audit_keys``: the public keys audit records and checkpoints are signed with."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from audit.signing import keys_json


class Command(BaseCommand):
    help = (
        "Print the public keys Flex signs audit records and checkpoints with (current first, "
        "retired ones still listed), as GET /api/audit/keys answers."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print the JSON answer only")

    def handle(self, *args, **options) -> None:
        keys = keys_json()
        if options["json"]:
            self.stdout.write(json.dumps(keys, indent=2))
            return
        for key in keys["keys"]:
            state = f"retired {key['retired']}" if key["retired"] else "current"
            self.stdout.write(
                f"{key['id']}  {key['alg']}  {key['public_key']}  created {key['created']}  {state}"
            )
        if not keys["keys"]:
            self.stderr.write("no signing key yet: set FLEX_AUDIT_SIGNING_KEY_FILE")
