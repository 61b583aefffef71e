"""Extra figure, from the auth engineer's bench/auth_enumeration.py (docs/security.md):
the paths an attacker could time to find accounts. Here the "baseline" is the known account's
path and the ratio should stay close to 1.00: sign-in with an unknown email vs a wrong password,
and a password-reset request for an unknown vs a known email, interleaved round by round.
The stack runs the default bcrypt cost with auth_enumeration.BENCH_ENV's raised failure limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import requests

from bench import auth_enumeration, stats
from bench.harness import Bench, new_account
from bench.report import CheckFailed, Figure

ROUNDS = 15


def _timed(call: Callable[[], requests.Response], expected: int) -> Callable[[], float]:
    def run() -> float:
        try:
            return auth_enumeration.timed(call, expected) / 1000
        except SystemExit as exc:  # its way of refusing an unexpected status
            raise CheckFailed(str(exc)) from None

    return run


def run(bench: Bench) -> list[Figure]:
    account = new_account(bench, "authtiming")
    http = requests.Session()
    base = bench.base_url
    unknown = f"nobody-{uuid.uuid4().hex[:10]}@example.com"

    def login(address: str) -> Callable[[], float]:
        body = {"email": address, "password": "Not-the-password-1"}
        return _timed(lambda: http.post(f"{base}/v1/auth/login", json=body, timeout=30), 401)

    def reset(address: str) -> Callable[[], float]:
        body = {"email": address}
        return _timed(lambda: http.post(f"{base}/v1/auth/password-reset", json=body, timeout=30), 202)

    pairs = {
        "auth_login_unknown_vs_wrong_password": (login(unknown), login(account.email)),
        "auth_reset_unknown_vs_known_email": (reset(unknown), reset(account.email)),
    }
    figures = []
    for name, (probe, known) in pairs.items():
        probe(), known()  # warm-up
        probe_s, known_s = [], []
        for _ in range(ROUNDS):  # interleaved, so drift hits both paths alike
            probe_s.append(probe())
            known_s.append(known())
        p95_probe, p95_known = stats.percentile(probe_s, 95), stats.percentile(known_s, 95)
        figures.append(
            Figure(
                name,
                stats.median(probe_s) * 1000,
                "ms (p50)",
                baseline=stats.median(known_s) * 1000,
                baseline_name="the same request for the existing account",
                p50_ms=stats.median(probe_s) * 1000,
                p99_ms=stats.percentile(probe_s, 99) * 1000,
                samples=ROUNDS,
                extra={
                    "p95_spread_pct": round(abs(p95_probe - p95_known) / max(p95_probe, p95_known) * 100, 1)
                },
            )
        )
    return figures
