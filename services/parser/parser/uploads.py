"""The upload lifecycle: parse → keep (file + preview) → import → delete.

A file is parsed before anything is kept, so a bad file leaves nothing behind. Records reach
usage only on import. Usage replaces file records per (platform, day, model), so importing an
upload again, or the same file from another upload, never double counts. Deleting an imported
upload deletes the records it still owns in usage first.

An import is marked started (`import_started_at`) before its records go to usage. A parser that
dies, or a usage answer that never arrives, after that leaves an upload that may already count in
usage: deleting it removes its records there too, and `finish_interrupted_imports` (run by
parser.importrecovery in every replica) imports it again and marks it imported."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from svccommon import cursors
from svccommon.audit import AuditLog, Outcome
from svccommon.standing import Standing, unverified_detail

from parser.config import Limits
from parser.parse import FileToParse, Parser
from parser.problems import (
    BadRequest,
    EmailUnverified,
    NotFound,
    NotReady,
    ParserProblem,
    QuotaExceeded,
    Unreadable,
)
from parser.records import Record
from parser.storage import Storage, new_stored_name
from parser.store import UploadStore, record_doc, record_from_doc, stored_money

log = logging.getLogger(__name__)

RECOVERY_ACTOR = "service:parser"  # the audit's actor for an import the parser finished itself
MAX_PAGE = 500
DEFAULT_PAGE = 50


class Importer(Protocol):
    def import_records(self, account_id: str, upload_id: str, records: list[Record]) -> int: ...

    def delete_imported(self, account_id: str, upload_id: str) -> int: ...


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def display_name(filename: str) -> str:
    """The user's filename for display only: last path part, printable, at most 200 characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:200] or "upload"


class Uploads:
    def __init__(
        self,
        store: UploadStore,
        storage: Storage,
        parser: Parser,
        importer: Importer,
        limits: Limits,
        ai_daily_limit: int,
        now: Callable[[], dt.datetime] = utcnow,
        audit: AuditLog | None = None,
        *,
        standing_of: Callable[[str], Standing],  # the account's plan and verified state (auth)
    ) -> None:
        self.standing_of = standing_of
        self.store = store
        self.storage = storage
        self.parser = parser
        self.importer = importer
        self.limits = limits
        self.ai_daily_limit = ai_daily_limit
        self.now = now
        self.audit = audit

    def create(self, account_id: str, filename: str, data: bytes, platform: str) -> dict[str, Any]:
        """Parse and keep a file for an account that has confirmed its address; its plan decides
        whether AI parsing may read a file no deterministic parser reads."""
        standing = self.standing_of(account_id)  # asked now: an upgrade or a confirmation counts at once
        if not standing.email_verified:
            raise EmailUnverified(unverified_detail("uploading billing files"))
        with self._audited("upload.created", account_id, "", {"filename": display_name(filename)}):
            doc = self._create(account_id, filename, data, platform, standing.plan.id)
        details = {"filename": doc["filename"], "size": doc["size"], "parser": doc["parser"]}
        self._audit("upload.created", account_id, doc["_id"], "success", details)
        return doc

    def _create(
        self, account_id: str, filename: str, data: bytes, platform: str, plan: str
    ) -> dict[str, Any]:
        if self.store.count(account_id) >= self.limits.max_uploads_per_account:
            raise QuotaExceeded(
                f"this account has {self.limits.max_uploads_per_account} uploads, the most allowed; "
                "delete old uploads first"
            )
        upload = FileToParse(data=data, filename=filename, platform=platform.strip(), plan=plan)
        kind, result = self.parser.parse(upload, lambda: self._admit_ai(account_id))
        sha256 = hashlib.sha256(data).hexdigest()
        warnings = list(result.warnings)
        earlier = self.store.find_same_content(account_id, sha256)
        if earlier:
            warnings.append(f"The same file was uploaded before (upload {earlier}); it can be imported once.")
        stored_name = new_stored_name()
        self.storage.put(stored_name, data)
        doc = {
            "_id": uuid.uuid4().hex,
            "account_id": account_id,
            "filename": display_name(filename),
            "stored_name": stored_name,
            "size": len(data),
            "sha256": sha256,
            "content_type": kind.value,
            "platform": result.platform,
            "status": "parsed",
            "parser": result.parser,
            "records": [record_doc(r) for r in result.records],
            "record_count": len(result.records),
            "total_cost_usd": stored_money(result.total_cost_usd),
            "warnings": warnings,
            "columns_used": result.columns_used,
            "error": "",
            "records_imported": 0,
            "created_at": self.now(),
            "imported_at": None,
        }
        try:
            self.store.insert(doc)
        except BaseException:
            self.storage.delete(stored_name)
            raise
        log.info(
            "upload parsed",
            extra={"upload_id": doc["_id"], "parser": result.parser, "records": len(result.records)},
        )
        return doc

    def _admit_ai(self, account_id: str) -> None:
        now = self.now()
        if self.store.ai_calls_since(account_id, now - dt.timedelta(days=1)) >= self.ai_daily_limit:
            raise QuotaExceeded(
                f"AI parsing is limited to {self.ai_daily_limit} documents a day; try again tomorrow"
            )
        self.store.record_ai_call(account_id, now)

    def get(self, account_id: str, upload_id: str) -> dict[str, Any]:
        doc = self.store.get(account_id, upload_id) if upload_id else None
        if doc is None:
            raise NotFound("upload not found")
        return doc

    def list(self, account_id: str, limit: int, cursor: str) -> tuple[list[dict[str, Any]], str]:
        limit = DEFAULT_PAGE if limit <= 0 else min(limit, MAX_PAGE)
        docs = self.store.page(account_id, limit + 1, decode_cursor(cursor) if cursor else None)
        if len(docs) <= limit:
            return docs, ""
        docs = docs[:limit]
        return docs, encode_cursor(docs[-1]["created_at"], docs[-1]["_id"])

    def import_(self, account_id: str, upload_id: str, actor: str | None = None) -> dict[str, Any]:
        """`actor`: who the audit event names (the account by default; the parser's own recovery)."""
        doc = self.get(account_id, upload_id)
        if doc["status"] == "imported":
            return doc  # idempotent: the second import changes nothing
        with self._audited("upload.imported", account_id, upload_id, {}, actor):
            if doc["status"] != "parsed":
                raise NotReady(f"the upload cannot be imported while it is {doc['status']}")
            records = [record_from_doc(r) for r in doc["records"]]
            if not doc.get("import_started_at"):
                self.store.update(account_id, upload_id, {"import_started_at": self.now()})
            try:
                imported = self.importer.import_records(account_id, upload_id, records)
            except Unreadable:
                # usage refused the records: none are stored, nothing is left to finish
                self.store.update(account_id, upload_id, {"import_started_at": None})
                raise
        fields = {"status": "imported", "records_imported": imported, "imported_at": self.now()}
        log.info("upload imported", extra={"upload_id": upload_id, "records": imported})
        self._audit("upload.imported", account_id, upload_id, "success", {"records": imported}, actor)
        return self.store.update(account_id, upload_id, fields) or {**doc, **fields}

    def finish_interrupted_imports(self, started_before: dt.datetime) -> int:
        """Import again the uploads whose import started before `started_before` and never
        finished (the parser died, or usage's answer was lost); returns how many were finished."""
        finished = 0
        for account_id, upload_id in self.store.interrupted_imports(started_before):
            try:
                self.import_(account_id, upload_id, actor=RECOVERY_ACTOR)
                finished += 1
            except ParserProblem as problem:  # usage still down: the next pass tries again
                log.warning(
                    "could not finish an interrupted import",
                    extra={"upload_id": upload_id, "reason": problem.kind},
                )
        if finished:
            log.info("finished interrupted imports", extra={"uploads": finished})
        return finished

    def delete(self, account_id: str, upload_id: str) -> None:
        doc = self.get(account_id, upload_id)
        with self._audited("upload.deleted", account_id, upload_id, {}):
            if doc["status"] == "imported" or doc.get("import_started_at"):
                # Records first: if usage is down, nothing is deleted and the user can retry.
                self.importer.delete_imported(account_id, upload_id)
        self.storage.delete(doc["stored_name"])
        self.store.delete(account_id, upload_id)
        self._audit("upload.deleted", account_id, upload_id, "success", {"filename": doc["filename"]})

    @contextlib.contextmanager
    def _audited(
        self, action: str, account_id: str, upload_id: str, details: dict[str, Any], actor: str | None = None
    ) -> Iterator[None]:
        """A refused or failed attempt is audited too (a missing upload is not an attempt)."""
        try:
            yield
        except ParserProblem as problem:
            if not isinstance(problem, NotFound):
                outcome: Outcome = "denied" if problem.status in (403, 429) else "failure"
                details = {**details, "reason": problem.kind}
                self._audit(action, account_id, upload_id, outcome, details, actor)
            raise

    def _audit(
        self,
        action: str,
        account_id: str,
        upload_id: str,
        outcome: Outcome,
        details: dict[str, Any],
        actor: str | None = None,
    ) -> None:
        """Not required: the upload itself shows its state if this event is lost."""
        if self.audit is not None:
            self.audit.record(
                action,
                outcome=outcome,
                account_id=account_id,
                actor=actor,
                target_type="upload",
                target_id=upload_id,
                details=details,
                required=False,
            )


def encode_cursor(created_at: dt.datetime, upload_id: str) -> str:
    return cursors.encode([created_at.astimezone(dt.UTC).isoformat(), upload_id])


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        at, upload_id = cursors.decode(cursor, 2)
        if not isinstance(at, str) or not isinstance(upload_id, str):
            raise ValueError
        return dt.datetime.fromisoformat(at), upload_id
    except ValueError:  # cursors.BadCursor is a ValueError
        raise BadRequest("the cursor is not valid; use next_cursor from the previous page") from None
