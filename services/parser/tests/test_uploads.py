"""The upload lifecycle against a real (embedded) database and a real folder: bad files leave
nothing, the raw file is kept under a generated name, import is idempotent, delete removes the
file and (for imported uploads) the usage records first. The usage client is replaced here by a
recorder; the gateway integration tests drive the real usage service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128
from parser.parse import Parser
from parser.problems import (
    AiNotConfigured,
    BadRequest,
    EmailUnverified,
    ImportFailed,
    NotFound,
    PlanRequired,
    QuotaExceeded,
    Unreadable,
)
from parser.records import Record
from parser.storage import LocalStorage
from parser.store import UploadStore
from parser.uploads import Uploads
from svccommon.audit import AuditLog
from svccommon.errors import Unavailable
from svccommon.plans import FREE, PROFESSIONAL
from svccommon.standing import Standing


class RecordingImporter:
    def __init__(self) -> None:
        self.imports: list[tuple[str, str, list[Record]]] = []
        self.deletes: list[tuple[str, str]] = []
        self.fail: Exception | None = None
        self.answer_lost = False  # usage stores the records, but its answer never arrives

    def import_records(self, account_id: str, upload_id: str, records: list[Record]) -> int:
        if self.fail:
            raise self.fail
        self.imports.append((account_id, upload_id, records))
        if self.answer_lost:
            raise ImportFailed("the usage service did not answer")
        return len(records)

    def delete_imported(self, account_id: str, upload_id: str) -> int:
        if self.fail:
            raise self.fail
        self.deletes.append((account_id, upload_id))
        return 1


@pytest.fixture
def importer() -> RecordingImporter:
    return RecordingImporter()


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "uploads"


def verified_free(account_id: str) -> Standing:
    return Standing(FREE, email_verified=True)


def make_uploads(
    db, folder, importer, limits, ai_daily_limit: int = 5, standing_of=verified_free, audit=None
) -> Uploads:
    store = UploadStore(db)
    store.ensure_indexes()
    return Uploads(
        store,
        LocalStorage(folder),
        Parser(limits, None, 10_000),
        importer,
        limits,
        ai_daily_limit,
        audit=audit,
        standing_of=standing_of,
    )


@pytest.fixture
def uploads(db, folder, importer, limits) -> Uploads:
    return make_uploads(db, folder, importer, limits)


ACCOUNT = "a" * 32
OTHER = "b" * 32


def test_create_keeps_the_file_under_a_generated_name(uploads, folder, fixture_bytes, db):
    data = fixture_bytes("openai_cost.csv")
    doc = uploads.create(ACCOUNT, "../../etc/cost_2025-01-01_2025-01-31.csv", data, "")
    assert doc["status"] == "parsed" and doc["parser"] == "openai_cost_csv"
    assert doc["filename"] == "cost_2025-01-01_2025-01-31.csv"  # display only, path stripped
    assert doc["total_cost_usd"] == Decimal128("0.2343")
    files = list(folder.iterdir())
    assert [f.name for f in files] == [doc["stored_name"]]
    assert files[0].read_bytes() == data
    assert "cost_" not in doc["stored_name"] and len(doc["stored_name"]) == 32
    stored = db["uploads"].find_one({"_id": doc["_id"]})
    gpt4o = next(
        r for r in stored["records"] if r["model"] == "gpt-4o-2024-08-06" and r["date"] == "2025-01-01"
    )
    assert gpt4o["cost_usd"] == Decimal128("0.0875")  # money as Decimal128


def test_bad_file_leaves_nothing(uploads, folder, db):
    with pytest.raises(Unreadable):
        uploads.create(ACCOUNT, "x.csv", b"date,model,cost\n2025-01-01,claude-x,-1\n", "")
    assert db["uploads"].count_documents({}) == 0
    assert list(folder.iterdir()) == []


def test_same_content_again_gets_a_warning(uploads, fixture_bytes):
    first = uploads.create(ACCOUNT, "a.csv", fixture_bytes("openai_cost.csv"), "")
    second = uploads.create(ACCOUNT, "b.csv", fixture_bytes("openai_cost.csv"), "")
    assert any(first["_id"] in w for w in second["warnings"])


def test_import_once(uploads, importer, fixture_bytes):
    doc = uploads.create(ACCOUNT, "a.csv", fixture_bytes("openai_cost.csv"), "")
    done = uploads.import_(ACCOUNT, doc["_id"])
    assert done["status"] == "imported" and done["records_imported"] == 5
    (account, upload_id, records) = importer.imports[0]
    assert (account, upload_id) == (ACCOUNT, doc["_id"])
    assert sum((r.cost_usd for r in records), Decimal(0)) == Decimal("0.2343")
    again = uploads.import_(ACCOUNT, doc["_id"])
    assert len(importer.imports) == 1  # the second import changes nothing
    assert again["imported_at"] == done["imported_at"]


def test_failed_import_can_be_retried(uploads, importer, fixture_bytes):
    doc = uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")
    importer.fail = ImportFailed("the usage service did not answer")
    with pytest.raises(ImportFailed):
        uploads.import_(ACCOUNT, doc["_id"])
    assert uploads.get(ACCOUNT, doc["_id"])["status"] == "parsed"
    importer.fail = None
    assert uploads.import_(ACCOUNT, doc["_id"])["status"] == "imported"


def test_an_import_whose_answer_was_lost_is_finished_later(db, folder, importer, limits, fixture_bytes):
    """usage stored the records but the parser never heard back (it died, or the answer was late):
    the upload still says parsed, so a later pass imports it again (usage replaces an upload's
    records: no double count), marks it imported and audits it as the parser's own doing."""
    audit = AuditLog(db, "parser")
    uploads = make_uploads(db, folder, importer, limits, audit=audit)
    doc = uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")
    importer.answer_lost = True
    with pytest.raises(ImportFailed):
        uploads.import_(ACCOUNT, doc["_id"])
    started = uploads.get(ACCOUNT, doc["_id"])["import_started_at"]
    assert uploads.get(ACCOUNT, doc["_id"])["status"] == "parsed" and started is not None
    importer.answer_lost = False
    assert uploads.finish_interrupted_imports(started) == 0  # not yet past its grace
    assert uploads.finish_interrupted_imports(started + dt.timedelta(seconds=1)) == 1
    assert uploads.get(ACCOUNT, doc["_id"])["status"] == "imported"
    assert [i[1] for i in importer.imports] == [doc["_id"], doc["_id"]]  # the same upload, replaced
    assert uploads.finish_interrupted_imports(started + dt.timedelta(hours=1)) == 0  # once
    assert audit.flush()
    events = list(db["audit_events"].find({"target.id": doc["_id"], "action": "upload.imported"}))
    assert [(e["outcome"], e["actor"]) for e in events] == [
        ("failure", f"account:{ACCOUNT}"),  # the user's attempt whose answer was lost
        ("success", "service:parser"),  # finished by the parser
    ]


def test_deleting_an_upload_whose_import_answer_was_lost_removes_its_records_in_usage(
    uploads, importer, fixture_bytes
):
    doc = uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")
    importer.answer_lost = True
    with pytest.raises(ImportFailed):
        uploads.import_(ACCOUNT, doc["_id"])
    importer.answer_lost = False
    uploads.delete(ACCOUNT, doc["_id"])
    assert importer.deletes == [(ACCOUNT, doc["_id"])]  # the records usage may hold go too


def test_records_usage_refused_leave_nothing_to_finish(uploads, importer, fixture_bytes):
    doc = uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")
    importer.fail = Unreadable("the usage service refused the records: invalid records")
    with pytest.raises(Unreadable):
        uploads.import_(ACCOUNT, doc["_id"])
    assert uploads.get(ACCOUNT, doc["_id"])["import_started_at"] is None
    assert uploads.finish_interrupted_imports(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)) == 0
    uploads.delete(ACCOUNT, doc["_id"])
    assert importer.deletes == []


def test_delete_parsed_upload_removes_the_file(uploads, importer, folder, fixture_bytes):
    doc = uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")
    uploads.delete(ACCOUNT, doc["_id"])
    assert list(folder.iterdir()) == [] and importer.deletes == []
    with pytest.raises(NotFound):
        uploads.get(ACCOUNT, doc["_id"])


def test_delete_imported_upload_removes_its_usage_records_first(uploads, importer, folder, fixture_bytes):
    doc = uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")
    uploads.import_(ACCOUNT, doc["_id"])
    importer.fail = ImportFailed("the usage service did not answer")
    with pytest.raises(ImportFailed):
        uploads.delete(ACCOUNT, doc["_id"])
    assert uploads.get(ACCOUNT, doc["_id"]) and len(list(folder.iterdir())) == 1  # nothing deleted
    importer.fail = None
    uploads.delete(ACCOUNT, doc["_id"])
    assert importer.deletes == [(ACCOUNT, doc["_id"])] and list(folder.iterdir()) == []


def test_other_accounts_see_nothing(uploads, fixture_bytes):
    doc = uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")
    for action in (uploads.get, uploads.import_, uploads.delete):
        with pytest.raises(NotFound):
            action(OTHER, doc["_id"])
    assert uploads.list(OTHER, 50, "") == ([], "")


def test_upload_quota(db, folder, importer, default_limits, fixture_bytes):
    uploads = make_uploads(db, folder, importer, default_limits(max_uploads_per_account=2))
    for _ in range(2):
        uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")
    with pytest.raises(QuotaExceeded, match="delete old uploads"):
        uploads.create(ACCOUNT, "a.csv", fixture_bytes("anthropic_cost.csv"), "")


def test_daily_ai_cap(db, folder, importer, limits):
    uploads = make_uploads(db, folder, importer, limits, ai_daily_limit=2)
    uploads._admit_ai(ACCOUNT)
    uploads._admit_ai(ACCOUNT)
    with pytest.raises(QuotaExceeded, match="limited to 2 documents a day"):
        uploads._admit_ai(ACCOUNT)
    uploads._admit_ai(OTHER)  # per account


def test_pages_newest_first(uploads, fixture_bytes):
    ids = [
        uploads.create(ACCOUNT, f"{i}.csv", fixture_bytes("anthropic_cost.csv"), "")["_id"] for i in range(3)
    ]
    first, cursor = uploads.list(ACCOUNT, 2, "")
    second, end = uploads.list(ACCOUNT, 2, cursor)
    assert [d["_id"] for d in first + second] == ids[::-1]
    assert cursor and end == ""
    with pytest.raises(BadRequest, match="cursor is not valid"):
        uploads.list(ACCOUNT, 2, "not-a-cursor")


def test_the_account_standing_from_auth_decides_ai_parsing_and_uploads(
    db, folder, importer, limits, fixture_bytes
):
    """The parser asks auth (standing_of) per upload: Free is refused AI parsing, Professional
    passes the plan gate, an unverified account may not upload at all, and with auth down the
    upload fails as unavailable instead of guessing; nothing is kept by a refused upload."""
    standing = {ACCOUNT: Standing(FREE, email_verified=True)}

    def standing_of(account_id: str) -> Standing:
        if account_id not in standing:
            raise Unavailable("the account service did not answer; try again shortly")
        return standing[account_id]

    uploads = make_uploads(db, folder, importer, limits, standing_of=standing_of)
    layout = b"Posting,Service,Charge\nJun 1,GPT-4o,4.00\n"  # no deterministic parser reads it
    with pytest.raises(PlanRequired, match="part of the Professional plan"):
        uploads.create(ACCOUNT, "invoice.csv", layout, "openai")
    standing[ACCOUNT] = Standing(PROFESSIONAL, email_verified=True)
    with pytest.raises(AiNotConfigured):  # past the plan gate (this parser has no OpenAI key)
        uploads.create(ACCOUNT, "invoice.csv", layout, "openai")
    standing[ACCOUNT] = Standing(PROFESSIONAL, email_verified=False)
    with pytest.raises(EmailUnverified, match="Confirm your email address before uploading"):
        uploads.create(ACCOUNT, "a.csv", fixture_bytes("openai_cost.csv"), "")
    with pytest.raises(Unavailable):
        uploads.create(OTHER, "a.csv", fixture_bytes("openai_cost.csv"), "")
    assert db["uploads"].count_documents({}) == 0
    assert not folder.exists() or list(folder.iterdir()) == []
    standing[ACCOUNT] = Standing(FREE, email_verified=True)
    assert uploads.create(ACCOUNT, "a.csv", fixture_bytes("openai_cost.csv"), "")["status"] == "parsed"
