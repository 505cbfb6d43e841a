"""Create the first local admin when the database has no superuser."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a first local admin from FLEX_ADMIN_USER/FLEX_ADMIN_PASSWORD when none exists."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("FLEX_ADMIN_USER") or "admin"
        password = os.environ.get("FLEX_ADMIN_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(f"Created the first admin: {user.username}"))
        if generated:
            self.stdout.write(f"  password: {password}   (shown once; change it in /admin/)")
