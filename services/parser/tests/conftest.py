"""Parser service tests: fixture files, a minimal PDF writer, default limits, and one embedded
database per session (a fresh database name per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from parser.config import Limits
from parser.config import load_limits as limits_from_env
from pymongo import MongoClient
from pymongo.database import Database
from testkit.mongo import mongo_server

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF (Helvetica text, one line per entry) that pypdf can extract."""
    font_id = 3
    page_ids = []
    next_id = 4
    page_objects: list[tuple[int, bytes]] = []
    for lines in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "50 780 Td"]
        for line in lines:
            ops.append(f"({_escape(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        content_id, page_id = next_id, next_id + 1
        next_id += 2
        page_objects.append(
            (content_id, b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        )
        page_objects.append(
            (
                page_id,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (content_id, font_id),
            )
        )
        page_ids.append(page_id)
    kids = " ".join(f"{i} 0 R" for i in page_ids).encode()
    objects = [
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(page_ids)),
        (3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
        *page_objects,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number, body in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    count = len(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count
    for number in range(1, count):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref_at)
    return bytes(out)


def default_limits(**changes) -> Limits:
    """The limits a service started with no PARSER_* variables gets, with `changes` applied."""
    return replace(limits_from_env({}), **changes)


@pytest.fixture
def limits() -> Limits:
    return default_limits()


@pytest.fixture(name="fixture_bytes")
def _fixture_bytes():
    return fixture_bytes


@pytest.fixture(name="make_pdf")
def _make_pdf():
    return make_pdf


@pytest.fixture(name="default_limits")
def _default_limits():
    return default_limits


@pytest.fixture(scope="session")
def parser_mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoClient]:
    with mongo_server(tmp_path_factory.mktemp("parser-db")) as uri:
        client: MongoClient = MongoClient(uri, tz_aware=True, uuidRepresentation="standard")
        yield client
        client.close()


@pytest.fixture
def db(parser_mongo: MongoClient) -> Iterator[Database]:
    name = f"parser_test_{uuid.uuid4().hex[:12]}"
    yield parser_mongo[name]
    parser_mongo.drop_database(name)
