"""Finishes the imports a crash interrupted, in every parser replica.

An import marks its upload started, sends the records to usage, then marks the upload imported.
A parser killed between the two, or a usage answer lost on the way, leaves an upload that says
"parsed" while its records may already count. Every EVERY_S this loop imports such uploads again
once their import started more than `grace` ago (longer than the usage call's deadline, so a live
import has ended by then): usage replaces an upload's records, so nothing is counted twice."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from parser.uploads import Uploads, utcnow

log = logging.getLogger(__name__)

EVERY_S = 10.0


class ImportRecovery:
    def __init__(self, uploads: Uploads, grace: dt.timedelta, every_s: float = EVERY_S) -> None:
        self.uploads = uploads
        self.grace = grace
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-recovery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def pass_once(self) -> int:
        return self.uploads.finish_interrupted_imports(utcnow() - self.grace)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.pass_once()
            except Exception as exc:  # the database is down: the next pass tries again
                log.warning("interrupted-import pass failed", extra={"error_type": type(exc).__name__})
