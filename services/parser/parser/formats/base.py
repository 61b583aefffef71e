"""What every deterministic format parser shares: header lookup and row iteration with the
spreadsheet row number (the header is row 1) for error messages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from parser.problems import Unreadable
from parser.tables import Table


def norm_header(text: str) -> str:
    return text.strip().lstrip("\ufeff").strip().lower()


@dataclass
class Row:
    number: int
    cells: list[str]
    index: dict[str, int]

    def get(self, column: str) -> str:
        i = self.index.get(column)
        if i is None or i >= len(self.cells):
            return ""
        return self.cells[i]


@dataclass(frozen=True)
class KnownFormat:
    """An export whose exact columns docs/providers.md lists; `required` decides whether it matches."""

    name: str
    platform: str
    required: frozenset[str]

    def matches(self, header: Sequence[str]) -> bool:
        return self.required <= {norm_header(h) for h in header}


def header_index(header: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(norm_header(name), i)
    return index


def data_rows(table: Table) -> Iterator[Row]:
    """The rows after the header, skipping fully blank ones."""
    if not table.rows:
        raise Unreadable("the file has no content")
    index = header_index(table.rows[0])
    for offset, cells in enumerate(table.rows[1:], start=2):
        if any(c for c in cells):
            yield Row(offset, cells, index)
