"""``make demo``: Flex as ``make run`` starts it, signing in through a GitHub Enterprise
stand-in on 127.0.0.1 (alice org admin, bob in team ``platform``, carol with a private
email, mallory outsider), with the sample policies imported. Offline; Ctrl-C stops it all.

The demo keeps its own SQLite database under ``var/demo/`` (``FLEX_VAR_DIR``) so it never
mixes its users into the one ``make run`` uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from flex import launcher

ROOT = launcher.ROOT
SAMPLE_POLICIES = ROOT / "rbac" / "samples" / "policies.yaml"
CLIENT_ID, CLIENT_SECRET, ORG = "flex-demo", "flex-demo-secret", "acme"


def say(text: str) -> None:
    sys.stdout.write(f"flex demo: {text}\n")
    sys.stdout.flush()


def start_stand_in() -> tuple[subprocess.Popen, dict]:
    """The stand-in as a process of its own; its first output line says where it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "standins.github", "--org", ORG]
        + ["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if not line:
        process.wait()
        raise RuntimeError("the GitHub Enterprise stand-in did not start")
    return process, json.loads(line)


def demo_env(urls: dict) -> dict[str, str]:
    return {
        "FLEX_VAR_DIR": os.environ.get("FLEX_VAR_DIR") or str(ROOT / "var" / "demo"),
        "GITHUB_ENTERPRISE_URL": urls["url"],
        "GITHUB_ENTERPRISE_API_URL": urls["api_url"],
        "GITHUB_ENTERPRISE_KEY": CLIENT_ID,
        "GITHUB_ENTERPRISE_SECRET": CLIENT_SECRET,
        "GITHUB_ORG": ORG,
        "GITHUB_ROLE_FIELD": "teams",
    }


def setup_commands() -> list[list[str]]:
    if not SAMPLE_POLICIES.exists():
        say(f"{SAMPLE_POLICIES} is missing; starting without sample policies")
        return []
    return [["rbac_import", str(SAMPLE_POLICIES), "--replace"]]


def main() -> int:
    stand_in, urls = start_stand_in()
    os.environ.update(demo_env(urls))
    address = os.environ.get("FLEX_LISTEN", "127.0.0.1:8000")
    say(f"GitHub Enterprise stand-in on {urls['url']} (org {ORG})")
    say(
        f"open http://{address}/, press 'Sign in with GitHub Enterprise' and pick alice "
        "(org admin, team admins), bob (team platform), carol (team auditors) or mallory "
        "(outsider: refused). Settings > Audit log shows every sign-in."
    )
    return launcher.main(setup=setup_commands(), started=[stand_in])


if __name__ == "__main__":
    sys.exit(main())
