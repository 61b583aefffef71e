"""PDF text extraction in the capped child process: text comes back, and page, text, time and
damage limits each end in a clear error (the service process itself never parses the PDF)."""

from __future__ import annotations

import zlib

import pytest
from parser.pdftext import pdf_text
from parser.problems import TooLarge, Unreadable


def test_text_of_every_page(limits, make_pdf):
    pdf = make_pdf([["Invoice INV-1", "Total: $12.50"], ["Page two"]])
    text = pdf_text(pdf, limits, 100_000)
    assert "Invoice INV-1" in text and "Total: $12.50" in text and "Page two" in text


def test_page_limit(default_limits, make_pdf):
    pdf = make_pdf([[f"page {i}"] for i in range(6)])
    with pytest.raises(TooLarge, match="the PDF has 6 pages; at most 5 are read"):
        pdf_text(pdf, default_limits(pdf_max_pages=5), 100_000)


def test_text_limit(limits, make_pdf):
    pdf = make_pdf([["x" * 80] * 40])
    with pytest.raises(TooLarge, match="more than 1000 characters"):
        pdf_text(pdf, limits, 1000)


def test_time_limit_kills_the_child(default_limits, make_pdf):
    # No interpreter starts within a millisecond, so the deadline always passes first.
    with pytest.raises(Unreadable, match="took longer than 0.001 seconds"):
        pdf_text(make_pdf([["hello"]]), default_limits(pdf_timeout_s=0.001), 100_000)


def test_damaged_pdf(limits):
    with pytest.raises(Unreadable, match="could not be read"):
        pdf_text(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntrailer garbage", limits, 100_000)


def test_pdf_without_text_layer(limits, make_pdf):
    with pytest.raises(Unreadable, match="no text layer"):
        pdf_text(make_pdf([[]]), limits, 100_000)


def _flate_bomb_pdf(inflated_bytes: int) -> bytes:
    """One page whose content stream inflates to inflated_bytes of spaces (a PDF bomb)."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    packed = b"".join(packer.compress(chunk) for _ in range(inflated_bytes // len(chunk))) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_bomb_is_stopped_in_the_child(limits, make_pdf):
    bomb = _flate_bomb_pdf(160 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024
    # pypdf stops inflating at its own cap inside the child; the upload gets a clear 422 ...
    with pytest.raises(Unreadable, match="no text layer|could not be read|too complex"):
        pdf_text(bomb, limits, 100_000)
    # ... and the service reads the next file normally.
    assert "next" in pdf_text(make_pdf([["next"]]), limits, 100_000)
