"""Figure 5: a 200,000-row OpenAI usage export (the dashboard's documented columns) through the
parser service's deterministic path in-process: type detection, CSV table, the OpenAI usage
format, one record per (day, model). Baseline: csv.DictReader over the same bytes, doing nothing.
The service's default limits (20 MiB, 100,000 rows, 10,000 records) refuse a file this size, so
the bench raises them: it measures the parser, not the upload caps."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

from parser.config import load_limits
from parser.parse import FileToParse, Parser

from bench import stats
from bench.report import Figure, check

ROWS = 200_000
MODELS, PROJECTS = 25, 22  # 550 rows per day: about a year
RUNS = 3
COLUMNS = (
    "start_time,end_time,start_time_iso,end_time_iso,project_id,num_model_requests,user_id,api_key_id,"
    "model,batch,service_tier,input_tokens,output_tokens,input_cached_tokens,input_uncached_tokens,"
    "input_text_tokens,output_text_tokens,input_cached_text_tokens,input_audio_tokens,"
    "input_cached_audio_tokens,output_audio_tokens,input_image_tokens,input_cached_image_tokens,"
    "output_image_tokens"
)
_DAY = 86400


def make_csv() -> tuple[bytes, int, int]:
    """(file, sum of input_tokens, distinct (day, model) pairs)."""
    first = int(dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp())
    lines = [COLUMNS]
    total_input = 0
    keys = set()
    for i in range(ROWS):
        model, project, day = i % MODELS, (i // MODELS) % PROJECTS, i // (MODELS * PROJECTS)
        start = first + day * _DAY
        iso = dt.datetime.fromtimestamp(start, dt.UTC).isoformat()
        end_iso = dt.datetime.fromtimestamp(start + _DAY, dt.UTC).isoformat()
        tokens_in, tokens_out, cached = 1000 + i % 977, 200 + i % 331, i % 97
        total_input += tokens_in
        keys.add((day, model))
        lines.append(
            f"{start},{start + _DAY},{iso},{end_iso},proj_{project},{1 + i % 13}.0,,,gpt-bench-{model:02d},"
            f"FALSE,default,{tokens_in}.0,{tokens_out}.0,{cached}.0,{tokens_in - cached}.0,{tokens_in}.0,"
            f"{tokens_out}.0,{cached}.0,0.0,0.0,0.0,0.0,0.0,0.0"
        )
    return ("\n".join(lines) + "\n").encode(), total_input, len(keys)


def run(bench: object = None) -> list[Figure]:
    data, want_input, want_records = make_csv()
    limits = dataclasses.replace(
        load_limits({}), max_upload_bytes=len(data) + 1, max_rows=ROWS + 1, max_records=want_records
    )
    parser = Parser(limits, None, 0)
    upload = FileToParse(data, "openai-usage.csv", "openai", "free")

    def parse() -> None:
        _kind, result = parser.parse(upload, lambda: None)
        check(result.parser == "openai_usage_csv", f"parsed as {result.parser}")
        check(len(result.records) == want_records, f"{len(result.records)} records, expected {want_records}")
        # OpenAI's input_tokens include the cached ones: uncached + cache read (+ cache write).
        input_units = ("input_uncached_tokens", "cache_read_tokens", "cache_write_tokens")
        got = sum(r.units.get(u, 0) for r in result.records for u in input_units)
        check(got == want_input, f"input tokens {got} != {want_input}")

    def read_only() -> None:
        rows = sum(1 for _ in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        check(rows == ROWS, f"DictReader saw {rows} rows")

    parse_s = stats.repeat(parse, RUNS)
    read_s = stats.repeat(read_only, RUNS)
    return [
        Figure(
            "parser_openai_usage_200k",
            ROWS / stats.median(parse_s),
            "rows/s",
            baseline=ROWS / stats.median(read_s),
            baseline_name="csv.DictReader over the same bytes, doing nothing with the rows",
            higher_is_better=True,
            p50_ms=stats.median(parse_s) * 1000,
            p99_ms=stats.percentile(parse_s, 99) * 1000,
            samples=RUNS,
            extra={"file_mib": round(len(data) / 2**20, 1), "records": want_records},
        )
    ]
