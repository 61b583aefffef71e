"""A PDF's text, read by pypdf in a separate, capped child process (parser.pdf_worker): page
limit, character limit, memory and CPU rlimits, and a wall-clock deadline after which the child is
killed. The service process never parses PDF structure itself.

PdfReaders runs at most PARSER_PDF_MAX_WORKERS such children at once, so their memory caps add
up to a known bound (parser.config); an upload that finds every reader busy is refused at once
(503 with Retry-After) rather than queued, because a queue would hold its file in memory too."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading

from parser.config import Limits
from parser.problems import Busy, TooLarge, Unreadable

_MESSAGES = {
    "encrypted": "the PDF is password-protected; upload an unprotected copy",
    "damaged": "the PDF could not be read (it is damaged or not a PDF)",
    "too_complex": "the PDF is too complex to read within the limits",
}


def pdf_text(data: bytes, limits: Limits, max_chars: int) -> str:
    args = [str(limits.pdf_max_pages), str(max_chars), str(limits.pdf_memory_bytes)]
    args.append(str(math.ceil(limits.pdf_timeout_s) + 1))
    # Only what Python needs to start: no credentials reach the child.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-m", "parser.pdf_worker", *args],
            input=data,
            capture_output=True,
            timeout=limits.pdf_timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Unreadable(f"the PDF took longer than {limits.pdf_timeout_s:g} seconds to read") from None
    try:
        result = json.loads(done.stdout or b"{}")
    except ValueError:
        result = {}
    if not isinstance(result, dict) or (done.returncode != 0 and "error" not in result):
        raise Unreadable(_MESSAGES["too_complex"])
    error = result.get("error")
    if error == "too_many_pages":
        raise TooLarge(f"the PDF has {result.get('pages')} pages; at most {limits.pdf_max_pages} are read")
    if error == "too_much_text":
        raise TooLarge(f"the PDF has more than {max_chars} characters of text; upload a shorter document")
    if error:
        raise Unreadable(_MESSAGES.get(error, _MESSAGES["damaged"]))
    text = result.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Unreadable("the PDF has no text layer (a scan?); upload the provider's CSV export instead")
    return text


class PdfReaders:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.pdf_max_workers)

    def text(self, data: bytes, max_chars: int) -> str:
        if not self._slots.acquire(blocking=False):
            raise Busy(
                f"all {self.limits.pdf_max_workers} PDF readers of this server are busy; "
                "upload the file again in a few seconds",
                # A reader is stopped at its deadline at the latest, freeing its slot.
                retry_after=math.ceil(self.limits.pdf_timeout_s),
            )
        try:
            return pdf_text(data, self.limits, max_chars)
        finally:
            self._slots.release()
