"""One file in, one preview out: detect the type, try the deterministic parsers (every plan), and
only then OpenAI extraction (Professional plan, when configured)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from svccommon.plans import cheapest_plan, effective_plan
from svccommon.platforms import PLATFORMS

from parser.ai.extract import Extractor
from parser.config import Limits
from parser.detect import Kind, detect
from parser.formats import anthropic_exports, generic, openai_exports
from parser.formats.base import KnownFormat
from parser.pdftext import PdfReaders
from parser.problems import AiNotConfigured, BadRequest, PlanRequired, TooLarge, Unreadable
from parser.records import UNATTRIBUTED_MODEL, ParseResult
from parser.tables import Table, read_csv, read_xlsx

KNOWN: tuple[tuple[KnownFormat, Callable[[Table], ParseResult]], ...] = (
    (openai_exports.COST, openai_exports.parse_cost),
    (openai_exports.USAGE, openai_exports.parse_usage),
    (anthropic_exports.COST, anthropic_exports.parse_cost),
    (anthropic_exports.USAGE, anthropic_exports.parse_usage),
)
# Model-name prefixes that tell a generic table's platform when the user chose none.
_MODEL_PREFIXES = {
    "openai": ("gpt", "chatgpt", "o1", "o3", "o4", "dall-e", "whisper", "tts-", "text-embedding", "davinci"),
    "anthropic": ("claude",),
    "google": ("gemini", "imagen", "veo"),
    "mistral": ("mistral", "ministral", "codestral", "pixtral", "magistral"),
    "cohere": ("command", "rerank"),
}


@dataclass(frozen=True)
class FileToParse:
    data: bytes
    filename: str
    platform: str  # the user's choice, "" when none
    plan: str


def check_platform(platform: str) -> str:
    if platform and platform not in PLATFORMS:
        shown = platform if len(platform) <= 40 and platform.isprintable() else "that"
        raise BadRequest(f"unknown platform {shown!r}; GET /v1/platforms lists the platform ids")
    return platform


def guess_platform(models: set[str]) -> str:
    guesses = set()
    for model in models - {UNATTRIBUTED_MODEL}:
        lowered = model.lower()
        guesses |= {p for p, prefixes in _MODEL_PREFIXES.items() if lowered.startswith(prefixes)}
        if not any(lowered.startswith(prefixes) for prefixes in _MODEL_PREFIXES.values()):
            return ""
    return guesses.pop() if len(guesses) == 1 else ""


class Parser:
    def __init__(self, limits: Limits, extractor: Extractor | None, max_ai_chars: int) -> None:
        self.limits = limits
        self.extractor = extractor
        self.max_ai_chars = max_ai_chars
        self.pdf = PdfReaders(limits)

    def parse(self, upload: FileToParse, admit_ai: Callable[[], None]) -> tuple[Kind, ParseResult]:
        """admit_ai is called once before any OpenAI request (per-account quota)."""
        platform = check_platform(upload.platform)
        kind = detect(upload.data, upload.filename, self.limits.max_upload_bytes)
        if kind == Kind.PDF:
            self._gate(upload.plan, "PDF invoices")
            text = self.pdf.text(upload.data, self.max_ai_chars)
            return kind, self._checked(self._ai(text, platform, admit_ai))
        table = (
            read_csv(upload.data, self.limits) if kind == Kind.CSV else read_xlsx(upload.data, self.limits)
        )
        if not table.rows:
            raise Unreadable("the file has no content")
        return kind, self._checked(self._table(table, platform, upload.plan, admit_ai))

    def _table(self, table: Table, platform: str, plan: str, admit_ai: Callable[[], None]) -> ParseResult:
        for known, parse in KNOWN:
            if known.matches(table.rows[0]):
                if platform and platform != known.platform:
                    raise Unreadable(
                        f"this is a {known.platform} export, but the platform chosen is {platform}"
                    )
                return _nonempty(parse(table), table)
        result = generic.parse(table, platform or "unknown")
        if result is not None:
            _nonempty(result, table)
            if not platform:
                result.platform = guess_platform({r.model for r in result.records})
                if not result.platform:
                    raise Unreadable(
                        "could not tell which platform this file is for; choose the platform and upload again"
                    )
                for record in result.records:
                    record.platform = result.platform
                result.warnings.append(
                    f"The platform was taken to be {result.platform} from the model names."
                )
            return result
        self._gate(plan, "files in other layouts")
        return self._ai(_as_text(table, self.max_ai_chars), platform, admit_ai)

    def _gate(self, plan: str, what: str) -> None:
        if not effective_plan(plan).ai_parsing:
            needed = cheapest_plan(lambda p: p.ai_parsing)
            name = needed.name if needed else "a paid"
            raise PlanRequired(
                f"AI parsing of {what} is part of the {name} plan; upgrade to {name}, "
                "or upload a known export (OpenAI or Anthropic cost/usage CSV) or a table with "
                "date and cost columns"
            )
        if self.extractor is None:
            raise AiNotConfigured(
                "AI parsing is not configured on this server (no OpenAI API key); upload a known export "
                "(OpenAI or Anthropic cost/usage CSV) or a table with date and cost columns"
            )

    def _ai(self, text: str, platform: str, admit_ai: Callable[[], None]) -> ParseResult:
        assert self.extractor is not None  # _gate ran first
        admit_ai()
        return self.extractor.extract(text, platform or None)

    def _checked(self, result: ParseResult) -> ParseResult:
        if len(result.records) > self.limits.max_records:
            raise TooLarge(
                f"the file has {len(result.records)} daily records; at most {self.limits.max_records} "
                "are imported at once, so split it into smaller periods"
            )
        return result


def _nonempty(result: ParseResult, table: Table) -> ParseResult:
    if result.records:
        return result
    if sum(1 for row in table.rows if any(row)) <= 1:
        raise Unreadable("the file has column headers but no data rows")
    raise Unreadable("the file has no costs or usage in it (every row is empty)")


def _as_text(table: Table, max_chars: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in table.rows:
        writer.writerow(row)
        if out.tell() > max_chars:
            raise TooLarge(f"the table is too long for AI parsing (more than {max_chars} characters)")
    return out.getvalue()
