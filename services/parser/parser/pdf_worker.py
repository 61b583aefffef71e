"""Child process that extracts a PDF's text: python -I -m parser.pdf_worker MAX_PAGES MAX_CHARS MEMORY.

It runs apart from the service so a hostile PDF (decompression bomb, pathological content
streams) can only exhaust this process: address space and CPU are capped here, the parent kills
it at a wall-clock deadline, and it gets no secrets in its environment. The PDF comes on stdin;
one JSON object goes to stdout: {"pages": n, "text": "..."} or {"error": code, ...}."""

from __future__ import annotations

import io
import json
import resource
import sys


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def extract(data: bytes, max_pages: int, max_chars: int) -> dict:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return {"error": "encrypted"}
        pages = len(reader.pages)
    except PdfReadError:
        return {"error": "damaged"}
    if pages > max_pages:
        return {"error": "too_many_pages", "pages": pages}
    texts, size = [], 0
    for page in reader.pages:
        text = page.extract_text() or ""
        size += len(text)
        if size > max_chars:
            return {"error": "too_much_text", "pages": pages}
        texts.append(text)
    return {"pages": pages, "text": "\n\f\n".join(texts)}


def main() -> None:
    max_pages, max_chars, memory, cpu = (int(a) for a in sys.argv[1:5])
    _limit(memory, cpu)
    try:
        result = extract(sys.stdin.buffer.read(), max_pages, max_chars)
    except MemoryError:
        result = {"error": "too_complex"}
    except Exception:  # damaged files raise many types; only the fact matters
        result = {"error": "damaged"}
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
