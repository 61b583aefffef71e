"""The parser runs at most PARSER_PDF_MAX_WORKERS PDF readers at once (each a capped child
process), so together they fit under the pod's memory limit. An upload that finds every reader
busy gets a 503 problem with Retry-After at once instead of queueing, and leaves nothing behind.

A parser and gateway of their own (with the OpenAI fake, as Professional PDFs need it), so the
slow readers here hold up no other test's uploads."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.accounts import auth_db, new_account
from support.ai_gateway import AiGateway, running_ai_gateway
from testkit.fakes.openai_compat import charge

pytestmark = pytest.mark.slow  # fills every PDF reader process of the parser

REPO_ROOT = Path(__file__).resolve().parents[2]
INVOICE = (REPO_ROOT / "services" / "parser" / "tests" / "fixtures" / "invoice.pdf").read_bytes()
MAX_WORKERS = 2
TIMEOUT_S = 6  # a slow reader is stopped after this long


def slow_pdf(pages: int = 50, operators: int = 100_000) -> bytes:
    """A small, valid PDF whose pages each hold a blank text run and then a long (compressed)
    stream of drawing operators, which a reader must parse: cheap to upload, far more than
    TIMEOUT_S of work for a reader."""
    stream = zlib.compress(b"BT /F1 1 Tf ( ) Tj ET\n" + b"0 0 m 1 1 l\n" * operators, 9)
    font = "<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Count {pages} /Kids [{kids}] >>".encode())
    for i in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {font} "
            f"/Contents {4 + 2 * i} 0 R >>".encode()
        )
        objects.append(
            f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


class WorkerWatch:
    """Counts the parser's live PDF reader children (from /proc) every few milliseconds."""

    def __init__(self, parser_pid: int) -> None:
        self.parser_pid = parser_pid
        self.most = 0
        self.now = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def readers(self) -> int:
        count = 0
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (proc / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            count += ppid == self.parser_pid and b"parser.pdf_worker" in cmdline
        return count

    def _run(self) -> None:
        while not self._stop.is_set():
            self.now = self.readers()
            self.most = max(self.most, self.now)
            time.sleep(0.01)

    def __enter__(self) -> WorkerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def wait_for(self, n: int, timeout_s: float = 15) -> None:
        deadline = time.monotonic() + timeout_s
        while self.now < n:
            assert time.monotonic() < deadline, f"{n} PDF readers never ran at once"
            time.sleep(0.02)


@pytest.fixture(scope="module")
def pdf_gateway(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AiGateway]:
    env = {"PARSER_PDF_MAX_WORKERS": str(MAX_WORKERS), "PARSER_PDF_TIMEOUT_SECONDS": str(TIMEOUT_S)}
    with running_ai_gateway(stack, tmp_path_factory.mktemp("pdf-gateway"), env) as gateway:
        yield gateway


@pytest.fixture()
def professional(stack: Any, mongo_uri: str) -> Any:
    account = new_account(stack)
    with auth_db(mongo_uri) as db:  # the plan as the Stripe webhook leaves it
        db["accounts"].update_one({"_id": account.account_id}, {"$set": {"plan": "professional"}})
    return account


def upload(gateway: AiGateway, account: Any, name: str, data: bytes) -> requests.Response:
    files = {"file": (name, data, "application/pdf")}
    return requests.post(f"{gateway.base_url}/v1/uploads", headers=account.headers, files=files, timeout=120)


def test_one_upload_more_than_the_readers_gets_503_and_leaves_nothing(
    pdf_gateway: AiGateway, professional: Any
) -> None:
    fake = pdf_gateway.fake
    fake.reset()
    slow = slow_pdf()
    answers: dict[int, requests.Response] = {}

    def send(i: int) -> None:
        answers[i] = upload(pdf_gateway, professional, f"slow-{i}.pdf", slow)

    with WorkerWatch(pdf_gateway.parser_pid) as watch:
        senders = [threading.Thread(target=send, args=(i,)) for i in range(MAX_WORKERS)]
        for sender in senders:
            sender.start()
        watch.wait_for(MAX_WORKERS)
        busy = upload(pdf_gateway, professional, "invoice.pdf", INVOICE)
        readers_then = watch.now
        for sender in senders:
            sender.join(60)

    assert busy.status_code == 503, busy.text
    assert busy.headers["Content-Type"] == "application/problem+json"
    assert busy.json()["type"].endswith("/parser-busy")
    assert 1 <= int(busy.headers["Retry-After"]) <= TIMEOUT_S + 1
    assert "PDF" in busy.json()["detail"]
    assert readers_then == MAX_WORKERS and watch.most == MAX_WORKERS
    for answer in answers.values():  # the slow ones ran out of time, clearly
        assert answer.status_code == 422 and "longer than" in answer.json()["detail"], answer.text

    # Nothing half-stored: no upload, no raw file, no OpenAI call.
    listed = requests.get(f"{pdf_gateway.base_url}/v1/uploads", headers=professional.headers, timeout=30)
    assert listed.json()["items"] == []
    assert [p for p in pdf_gateway.upload_dir.rglob("*") if p.is_file()] == []
    assert fake.calls == []

    # With the readers free again the same file goes through.
    fake.reply_records([charge("2025-06-01", "gpt-4o", "10.00"), charge("2025-06-01", "o3", "2.50")])
    again = upload(pdf_gateway, professional, "invoice.pdf", INVOICE)
    assert again.status_code == 202, again.text
