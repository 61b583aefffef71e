"""Entry point: python -m parser"""

from svccommon.runner import run_service

from parser.config import load
from parser.server import bindings


def main() -> None:
    run_service(load, lambda cfg: cfg.common, bindings)


if __name__ == "__main__":
    main()
