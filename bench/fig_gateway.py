"""Figure 4: authenticated GET /v1/me (JWT check, auth's CheckSession and GetAccount over gRPC)
with 1 and 16 concurrent clients, each a keep-alive requests.Session in its own thread. Baseline:
GET /healthz (the same gunicorn workers, no token, no backend) with the same clients.
The load runs on the same 2 cores as the stack, so these are lower bounds of the gateway."""

from __future__ import annotations

from collections.abc import Callable

import requests

from bench import stats
from bench.harness import Bench, new_account
from bench.report import Figure, check

CONCURRENCY = (1, 16)
DURATION_S = 5.0
BASELINE_DURATION_S = 3.0


def _client(url: str, headers: dict[str, str], ok: Callable[[requests.Response], bool]) -> Callable[[], bool]:
    session = requests.Session()
    session.headers.update(headers)
    return lambda: ok(session.get(url, timeout=30))


def run(bench: Bench) -> list[Figure]:
    account = new_account(bench, "gateway")

    def me_ok(response: requests.Response) -> bool:
        return response.status_code == 200 and response.json()["account"]["id"] == account.account_id

    def health_ok(response: requests.Response) -> bool:
        return response.status_code == 200 and response.json() == {"status": "ok"}

    me_url, health_url = f"{bench.base_url}/v1/me", f"{bench.base_url}/healthz"
    check(_client(me_url, account.headers, me_ok)(), "GET /v1/me did not answer the account")
    figures = []
    for clients in CONCURRENCY:
        load = stats.closed_loop(lambda: _client(me_url, account.headers, me_ok), clients, DURATION_S)
        base = stats.closed_loop(lambda: _client(health_url, {}, health_ok), clients, BASELINE_DURATION_S)
        check(load.ops > 0 and base.ops > 0, "no request succeeded")
        figures.append(
            Figure(
                f"gateway_me_c{clients}",
                load.per_second,
                "req/s",
                baseline=base.per_second,
                baseline_name="GET /healthz (no token, no backend call) with the same clients",
                higher_is_better=True,
                p50_ms=load.p50_ms(),
                p99_ms=load.p99_ms(),
                samples=load.ops + load.errors,
                extra={
                    "errors": load.errors,
                    "baseline_errors": base.errors,
                    "baseline_p99_ms": round(base.p99_ms(), 2),
                },
            )
        )
    return figures
