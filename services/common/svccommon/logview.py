"""python -m svccommon.logview [--request-id ID] [--follow] [FILE]: read the stack's JSON log
lines (as `make run` prints them, `HH:MM:SS name.1 | {...}`, or bare JSON) one event per line,
optionally only one request's lines across every service (`make logs ID=<request id>`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

QUIET_FIELDS = {"time", "service", "level", "logger", "msg", "request_id"}


def parse(line: str) -> dict[str, Any] | None:
    """The JSON object of a log line, or None for anything else (process manager chatter)."""
    start = line.find("{")
    if start < 0:
        return None
    try:
        record = json.loads(line[start:])
    except ValueError:
        return None
    return record if isinstance(record, dict) and "msg" in record else None


def render(record: dict[str, Any]) -> str:
    head = f"{record.get('time', ''):24} {record.get('service') or '-':9} {record.get('level', ''):7}"
    rest = " ".join(f"{k}={v}" for k, v in record.items() if k not in QUIET_FIELDS and v is not None)
    where = f"[{record['request_id']}] " if record.get("request_id") else ""
    return f"{head} {where}{record.get('msg', '')}  {rest}".rstrip()


def select(lines: Iterable[str], request_id: str | None) -> Iterator[str]:
    for line in lines:
        record = parse(line)
        if record is None:
            if request_id is None and line.strip():
                yield line.rstrip("\n")
            continue
        if request_id is None or record.get("request_id") == request_id:
            yield render(record)


def follow(stream: IO[str]) -> Iterator[str]:
    """The stream's lines, then new ones as they are written (like tail -F)."""
    while True:
        line = stream.readline()
        if line:
            yield line
        else:
            time.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svccommon.logview", description=__doc__)
    parser.add_argument("file", nargs="?", help="a log file (default: standard input)")
    parser.add_argument("--request-id", help="only the lines of this request, in every service")
    parser.add_argument("--follow", action="store_true", help="keep reading as lines are added")
    args = parser.parse_args(argv)
    try:
        stream = open(args.file, encoding="utf-8", errors="replace") if args.file else sys.stdin  # noqa: SIM115
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    lines = follow(stream) if args.follow else stream
    try:
        for out in select(lines, args.request_id):
            print(out, flush=args.follow)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
