"""Static checks of the root Dockerfile and .dockerignore, and their fit with the manifests.

No Docker engine is needed: the file is parsed as text. What a build proves (the install
works, dev packages are absent) is asserted inside the Dockerfile itself.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
SERVICES = ("gateway", "auth", "keyvault", "usage", "parser")


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current = None
    for word, rest in _instructions():
        if word == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            assert match, rest
            current = match.group(2) or f"<unnamed {len(stages)}>"
            stages[current] = [("FROM", match.group(1))]
        elif current is not None:
            stages[current].append((word, rest))
    return stages


def test_base_image_is_python_311_slim_pinned_by_tag_and_digest():
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.M))
    image = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?@sha256:[0-9a-f]{64}", image), image
    for word, rest in _instructions():
        if word == "FROM":
            base = rest.split()[0]
            assert base in ("${PYTHON_IMAGE}", *_stages()), f"FROM {base}: use the pinned PYTHON_IMAGE"


def test_one_target_per_service_with_its_command():
    stages = _stages()
    for name in SERVICES:
        assert name in stages, f"no build target {name}"
        cmd = [rest for word, rest in stages[name] if word == "CMD"]
        assert len(cmd) == 1, name
        if name == "gateway":
            assert cmd[0] == '["gunicorn", "-c", "python:gateway.gunicorn_conf", "gateway:create_app()"]'
        else:
            assert cmd[0] == f'["python", "-m", "{name}"]'


def test_runtime_runs_as_uid_10001_unbuffered_and_without_dev_extras():
    stages = _stages()
    runtime = stages["runtime"]
    users = [rest for word, rest in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] == "10001"
    for name in SERVICES:
        assert all(word != "USER" for word, _ in stages[name]), f"{name} must keep USER 10001"
    env = " ".join(rest for word, rest in runtime if word == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    assert not re.search(r"pip install[^\n]*\.\[", DOCKERFILE), "install the project without extras"
    assert "secantusdb" in DOCKERFILE, "the build must assert the embedded database is absent"


def test_dockerignore_keeps_state_venvs_and_tests_out():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in ("var/", ".venv/", "tests/", "**/tests/", "services/common/testkit/", ".git/"):
        assert entry in ignored, f".dockerignore lacks {entry}"


def test_exposed_ports_match_the_deployments(render):
    stages = _stages()
    m = render("overlays/prod-us-east-1")
    for name in SERVICES:
        exposed = {int(p) for word, rest in stages[name] if word == "EXPOSE" for p in rest.split()}
        ports = {p["containerPort"] for p in m.pod_spec(m.deployments[name])["containers"][0]["ports"]}
        assert exposed == ports, f"{name}: EXPOSE {sorted(exposed)} != containerPorts {sorted(ports)}"
