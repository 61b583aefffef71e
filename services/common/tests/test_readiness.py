"""ReadinessWatch: the health status follows the probe both ways, once per change."""

from __future__ import annotations

from svccommon.readiness import ReadinessWatch
from testkit.waiting import wait_until


def test_not_ready_while_the_probe_fails_and_ready_again_once_it_answers():
    answers = iter([True, False, False, RuntimeError("refused"), True, True])
    changes: list[bool] = []

    def probe() -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    watch = ReadinessWatch(probe, changes.append)
    assert [watch.check_once() for _ in range(6)] == [True, False, False, False, True, True]
    assert changes == [False, True]  # told once per change, a raising probe counts as failing


def test_the_thread_probes_until_stopped():
    calls: list[int] = []
    changes: list[bool] = []
    watch = ReadinessWatch(lambda: calls.append(1) or len(calls) < 3, changes.append, interval_s=0.01).start()
    wait_until(lambda: changes == [False], timeout_s=5, what="the watch to report not ready")
    watch.stop()
    seen = len(calls)
    assert not watch._thread.is_alive() and len(calls) == seen


def test_a_lost_database_makes_the_server_not_ready_but_never_not_alive():
    from grpc_health.v1 import health, health_pb2
    from svccommon.grpcserver import LIVENESS_SERVICE, RunningServer

    servicer = health.HealthServicer()
    running = RunningServer(None, 0, servicer, None, 0, [])  # type: ignore[arg-type]
    running.set_alive()
    running.set_serving(False)  # what the watch does when the ping fails

    def status(name: str) -> int:
        return servicer.Check(health_pb2.HealthCheckRequest(service=name), None).status

    assert status("") == health_pb2.HealthCheckResponse.NOT_SERVING
    assert status(LIVENESS_SERVICE) == health_pb2.HealthCheckResponse.SERVING
