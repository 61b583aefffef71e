"""What kind of file this is, from its bytes (magic numbers), cross-checked with the extension of
the name the user gave (ASVS 5.2.2). Only CSV, XLSX and PDF are accepted."""

from __future__ import annotations

import io
import zipfile
from enum import StrEnum

from parser.problems import TooLarge, Unreadable, UnsupportedType

SUPPORTED = "CSV, XLSX or PDF"


class Kind(StrEnum):
    CSV = "text/csv"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    PDF = "application/pdf"


_EXTENSIONS = {"csv": Kind.CSV, "txt": Kind.CSV, "xlsx": Kind.XLSX, "pdf": Kind.PDF}
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def extension(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""


def detect(data: bytes, filename: str, max_bytes: int) -> Kind:
    if not data:
        raise Unreadable("the file is empty")
    if len(data) > max_bytes:
        raise TooLarge(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    ext = extension(filename)
    if ext and ext not in _EXTENSIONS:
        raise UnsupportedType(f"files ending in .{_short(ext)} are not accepted; upload {SUPPORTED}")
    kind = _sniff(data)
    if ext and _EXTENSIONS[ext] != kind:
        raise UnsupportedType(f"the file's content is not what its .{ext} name says; upload {SUPPORTED}")
    return kind


def _sniff(data: bytes) -> Kind:
    head = data[:8192]
    if head.startswith(b"%PDF-"):
        return Kind.PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise UnsupportedType(
            f"old Excel (.xls) files are not supported; save it as .xlsx or CSV ({SUPPORTED})"
        )
    if head.startswith(_UTF16_BOMS):
        raise Unreadable("the file is UTF-16 text; save it as CSV (UTF-8) and upload again")
    if b"\x00" in head:
        raise UnsupportedType(f"this kind of file is not supported; upload {SUPPORTED}")
    return Kind.CSV  # text; decoding and CSV structure are checked when it is read


def _zip_kind(data: bytes) -> Kind:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError):
        raise UnsupportedType(f"the file is a damaged ZIP archive; upload {SUPPORTED}") from None
    if "xl/workbook.xml" in names and "[Content_Types].xml" in names:
        return Kind.XLSX
    raise UnsupportedType(f"ZIP archives other than Excel workbooks are not accepted; upload {SUPPORTED}")


def _short(text: str) -> str:
    cleaned = "".join(c for c in text if c.isalnum())[:10]
    return cleaned or "?"
