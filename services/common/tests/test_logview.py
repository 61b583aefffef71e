"""The log reader behind `make logs`: one request's lines across services, readable."""

import json

from svccommon.logview import main, parse, select

LINES = [
    "12:00:00 system  | gateway.1 started (pid=1)\n",
    '12:00:01 gateway.1  | {"time": "t1", "level": "INFO", "logger": "gateway.access", "msg": "request", '
    '"service": "gateway", "request_id": "r-1", "status": 201}\n',
    '12:00:01 keyvault.1 | {"time": "t2", "level": "INFO", "logger": "svccommon.rpc", "msg": "rpc", '
    '"service": "keyvault", "request_id": "r-1", "method": "/k/Store", "code": "OK"}\n',
    '12:00:02 usage.1    | {"time": "t3", "level": "INFO", "logger": "svccommon.rpc", "msg": "rpc", '
    '"service": "usage", "request_id": "r-2", "method": "/u/Start", "code": "OK"}\n',
    json.dumps({"time": "t4", "level": "ERROR", "msg": "x", "service": "parser", "request_id": "r-1"}) + "\n",
]


def test_one_request_across_services():
    out = list(select(LINES, "r-1"))
    assert len(out) == 3
    assert "gateway" in out[0] and "[r-1] request" in out[0] and "status=201" in out[0]
    assert "keyvault" in out[1] and "method=/k/Store" in out[1] and "parser" in out[2]


def test_everything_without_a_filter_keeps_other_lines():
    out = list(select(LINES, None))
    assert len(out) == 5 and out[0].endswith("gateway.1 started (pid=1)")
    assert parse("not json {") is None and parse('{"no": "msg"}') is None


def test_reads_a_file(tmp_path, capsys):
    log = tmp_path / "stack.log"
    log.write_text("".join(LINES))
    assert main([str(log), "--request-id", "r-2"]) == 0
    assert capsys.readouterr().out.count("\n") == 1
    assert main([str(tmp_path / "missing.log")]) == 1
