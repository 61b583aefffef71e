"""Entry point: python -m usage"""

from svccommon.runner import run_service

from usage.config import load
from usage.server import bindings


def main() -> None:
    run_service(load, lambda cfg: cfg.common, bindings)


if __name__ == "__main__":
    main()
