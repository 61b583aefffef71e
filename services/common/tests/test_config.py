from pathlib import Path

import pytest
from svccommon.config import ConfigError, env_int, load_common


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    for name in ("ca.crt", "auth.crt", "auth.key"):
        (tmp_path / name).write_text("x")
    return {"TLS_DIR": str(tmp_path), **extra}


def test_defaults_are_local_development(tmp_path):
    cfg = load_common("auth", _env(tmp_path))
    assert cfg.environment == "development" and cfg.port == 50051 and cfg.bind_host == "127.0.0.1"
    assert cfg.mongodb_database == "aicosts_auth" and cfg.region == "us-east-1"
    assert cfg.tls.cert == tmp_path / "auth.crt"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"AUTH_PORT": "http"}, "AUTH_PORT"),
        ({"AUTH_PORT": "70000"}, "AUTH_PORT"),
        ({"AICOSTS_ENV": "staging"}, "AICOSTS_ENV"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"SHUTDOWN_GRACE_SECONDS": "soon"}, "SHUTDOWN_GRACE_SECONDS"),
        ({"TLS_CERT_FILE": "/nonexistent/cert.pem"}, "TLS_CERT_FILE"),
    ],
)
def test_bad_variable_fails_fast_naming_it(tmp_path, extra, named):
    with pytest.raises(ConfigError, match=named):
        load_common("auth", _env(tmp_path, **extra))


def test_missing_tls_material_names_the_variable():
    with pytest.raises(ConfigError, match="TLS_CA_FILE"):
        load_common("auth", {})


def test_env_int_bounds():
    assert env_int({"N": " 7 "}, "N", 1, minimum=1, maximum=9) == 7
    assert env_int({}, "N", 3) == 3
    with pytest.raises(ConfigError, match="at least 1"):
        env_int({"N": "0"}, "N", 1, minimum=1)
