"""A loopback Slack incoming webhook: answers as a test scripts, keeps every message.

    slack = SlackStub().start()
    slack.script(slack.server_error(), slack.ok())   # first 500, then 200 "ok"
    settings.SLACK_WEBHOOK_URL = slack.url
    ...
    slack.delivered()   # the messages answered 200, as Slack's JSON bodies

Answers: ``ok()`` (200 "ok"), ``not_found()`` (404 "no_service"), ``rate_limited(s)``
(429 with ``Retry-After: s``), ``server_error()`` (500), ``hang(s)`` (answers after s
seconds). Once the script runs out, every request gets ``default`` (``ok()``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from standins.http import Request, Response, StubServer


@dataclass
class Hit:
    at: float  # time.monotonic() when the request arrived
    request: Request
    response: Response

    @property
    def message(self) -> dict:
        return self.request.json()


class SlackStub:
    def __init__(self) -> None:
        self.default = self.ok()
        self.hits: list[Hit] = []
        self._script: deque[Response] = deque()
        self._lock = threading.Lock()
        self.server = StubServer(self._answer)

    @property
    def url(self) -> str:
        return f"{self.server.url}/services/T000/B000/XXXX"

    def start(self) -> SlackStub:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def script(self, *answers: Response) -> None:
        with self._lock:
            self._script.extend(answers)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.hits.clear()
            self.default = self.ok()

    def _answer(self, request: Request) -> Response:
        with self._lock:
            response = self._script.popleft() if self._script else self.default
            self.hits.append(Hit(time.monotonic(), request, response))
        return response

    def delivered(self) -> list[dict]:
        """Messages Slack accepted (answered 200), in arrival order."""
        return [hit.message for hit in list(self.hits) if hit.response.status == 200]

    @staticmethod
    def ok() -> Response:
        return Response(200, "ok")

    @staticmethod
    def not_found() -> Response:
        return Response(404, "no_service")

    @staticmethod
    def rate_limited(seconds: int) -> Response:
        return Response(429, "rate_limited", headers={"Retry-After": str(seconds)})

    @staticmethod
    def server_error() -> Response:
        return Response(500, "internal_error")

    @staticmethod
    def hang(seconds: float) -> Response:
        return Response(200, "ok", delay=seconds)
