"""Entry point: python -m auth"""

from svccommon.runner import run_service

from auth.config import load
from auth.server import bindings


def main() -> None:
    run_service(load, lambda cfg: cfg.common, bindings)


if __name__ == "__main__":
    main()
