"""Entry point: python -m usage (the gRPC service plus its sync workers and scheduler)."""

from svccommon import logs, mongo
from svccommon.config import load_or_exit
from svccommon.grpcserver import serve

from usage.config import load
from usage.server import build


def main() -> None:
    cfg = load_or_exit(load)
    logs.configure(cfg.common.service, cfg.common.log_level)
    db = mongo.connect(cfg.common)
    app = build(cfg, db)  # creates the indexes before serving
    app.start()

    def on_stop() -> None:
        # gRPC has drained: let workers finish their day, give unfinished runs back, then close.
        app.stop()
        db.client.close()

    serve(cfg.common, app.bindings, on_stop=on_stop, ready_probe=mongo.ping_probe(cfg.common))


if __name__ == "__main__":
    main()
