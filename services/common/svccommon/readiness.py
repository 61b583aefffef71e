"""Readiness follows a dependency: a thread asks `probe` every interval and turns the gRPC health
status NOT_SERVING while it fails, SERVING again once it answers. The database is every service's
dependency: without it a service can only answer 503, so balancers (and the gateway's /readyz)
must see it as not ready, and see it ready again on its own once the database is back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("svccommon.readiness")

PROBE_INTERVAL_S = 1.0


class ReadinessWatch:
    def __init__(
        self,
        probe: Callable[[], bool],
        set_ready: Callable[[bool], None],
        interval_s: float = PROBE_INTERVAL_S,
    ) -> None:
        self.probe = probe
        self.set_ready = set_ready
        self.interval_s = interval_s
        self.ready = True  # the server starts SERVING
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readiness", daemon=True)

    def start(self) -> ReadinessWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.interval_s + 5)

    def check_once(self) -> bool:
        try:
            ok = bool(self.probe())
        except Exception:  # a probe that raises is a failing probe
            ok = False
        if ok != self.ready:
            self.ready = ok
            self.set_ready(ok)
            (log.info if ok else log.warning)(
                "database reachable" if ok else "database unreachable: not ready"
            )
        return ok

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check_once()
