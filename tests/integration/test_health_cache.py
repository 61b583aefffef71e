"""/readyz and /v1/status are public, so their backend health probes are cached: a burst of calls
makes at most one probe of each backend per gateway worker and cache window, seen in the
backends' own rpc log lines (each carries the request id of the call that probed)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from gateway.healthcache import MAX_AGE_S
from support import logs

BACKENDS = {"auth", "keyvault", "usage", "parser"}
BURST = 40


def _probes(stack: Any, request_ids: set[str]) -> Counter[str]:
    """Health checks each backend logged for these request ids."""
    counts: Counter[str] = Counter()
    for record in logs.records(stack):
        if (
            record.get("msg") == "rpc"
            and str(record.get("method", "")).startswith("/grpc.health.v1.Health/")
            and record.get("request_id") in request_ids
        ):
            counts[record["service"]] += 1
    return counts


def _wait_for_probes(stack: Any, request_ids: set[str]) -> Counter[str]:
    """The counts once every backend has logged a probe and the log has settled."""
    deadline = time.monotonic() + 15
    while set(_probes(stack, request_ids)) != BACKENDS and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    return _probes(stack, request_ids)


def _get(stack: Any, path: str, request_id: str) -> int:
    response = requests.get(f"{stack.base_url}{path}", headers={"X-Request-ID": request_id}, timeout=10)
    return response.status_code


def test_a_burst_of_health_calls_probes_each_backend_once_per_worker(stack):
    time.sleep(MAX_AGE_S)  # every worker's cached answer has expired, so the burst probes afresh
    ids = [f"burst-{uuid.uuid4().hex[:12]}-{i}" for i in range(BURST)]
    paths = ["/readyz", "/v1/status"] * (BURST // 2)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda call: _get(stack, *call), zip(paths, ids, strict=True)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * BURST

    counts = _wait_for_probes(stack, set(ids))
    assert set(counts) == BACKENDS
    windows = int(elapsed // MAX_AGE_S) + 1  # a slow burst may span more than one window
    workers = int(stack.env.get("GATEWAY_WORKERS", "2"))  # each worker keeps its own answer
    assert max(counts.values()) <= workers * windows, (counts, elapsed)


def test_the_cached_answer_is_renewed_after_its_window(stack):
    time.sleep(MAX_AGE_S)  # the cache's window is what this test is about: wait it out
    request_id = f"renew-{uuid.uuid4().hex[:12]}"
    assert _get(stack, "/readyz", request_id) == 200
    assert _wait_for_probes(stack, {request_id}) == Counter({name: 1 for name in BACKENDS})
