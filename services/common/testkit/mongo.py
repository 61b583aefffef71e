"""The tests' database: a pinned MongoDB container when a Docker engine answers, otherwise an
embedded SecantusDB server for the test session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

MONGO_IMAGE = "mongo:7.0.14"


def _docker_available() -> bool:
    try:
        import docker
        from docker.errors import DockerException

        try:
            docker.from_env().ping()
            return True
        except DockerException:
            return False
    except Exception:
        return False


@contextlib.contextmanager
def mongo_server(tmp: Path) -> Iterator[str]:
    if _docker_available():
        from testcontainers.mongodb import MongoDbContainer

        print(f"\n[tests] database: testcontainers {MONGO_IMAGE}")
        with MongoDbContainer(MONGO_IMAGE) as container:
            yield container.get_connection_url()
        return
    from devstack.db import start
    from devstack.ports import free_ports

    print("\n[tests] database: embedded SecantusDB (no Docker engine answered)")
    server = start("127.0.0.1", free_ports(1)[0], tmp)
    try:
        yield server.uri
    finally:
        server.stop()
