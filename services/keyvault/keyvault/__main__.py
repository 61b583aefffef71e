"""Entry point: python -m keyvault"""

from svccommon.runner import run_service

from keyvault.config import load
from keyvault.server import bindings


def main() -> None:
    run_service(load, lambda cfg: cfg.common, bindings)


if __name__ == "__main__":
    main()
