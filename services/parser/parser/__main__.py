"""Entry point: python -m parser"""

from svccommon.runner import run_service

from parser.config import MAX_MESSAGE_BYTES, load
from parser.server import bindings


def main() -> None:
    # Uploads of up to 20 MiB arrive in one message from the gateway.
    run_service(load, lambda cfg: cfg.common, bindings, max_message_bytes=MAX_MESSAGE_BYTES)


if __name__ == "__main__":
    main()
