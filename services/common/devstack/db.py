"""The embedded MongoDB-wire-protocol server (SecantusDB) as its own process, for local runs
and tests only. Production points MONGODB_URI at MongoDB Atlas instead."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path

from secantus import SecantusDBServer

# A short TTL sweep: the 60 s default makes bulk writes 5-10x slower once a TTL index exists.
TTL_SWEEP_SECONDS = 5
# Ctrl-C reaches every process at once; the services drain (and flush their last writes) in
# about a second, so the database stays up a little longer than they do.
STOP_DELAY_SECONDS = 2.0


def start(host: str, port: int, path: Path) -> SecantusDBServer:
    path.mkdir(parents=True, exist_ok=True)
    server = SecantusDBServer(
        host=host, port=port, storage_path=str(path), ttl_sweep_seconds=TTL_SWEEP_SECONDS
    )
    server.start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the embedded development database")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", type=Path, required=True)
    args = parser.parse_args()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = start(args.host, args.port, args.path)
    print(f"embedded database listening on {server.uri}", flush=True)
    stop.wait()
    time.sleep(STOP_DELAY_SECONDS)
    server.stop()
    print("embedded database stopped", flush=True)


if __name__ == "__main__":
    main()
