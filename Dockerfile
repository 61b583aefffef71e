# syntax=docker/dockerfile:1
#
# One Dockerfile for every AICosts service; the build context is the repository root.
#
#   docker build --target gateway  -t aicosts/gateway:TAG  .
#   docker build --target auth     -t aicosts/auth:TAG     .
#   (likewise keyvault, usage, parser; always pass --target)
#
# Why per-service targets rather than one image with a per-service command:
# the code is one Python distribution (the root pyproject.toml), so every target carries the
# same virtualenv and shares every layer with the others: five tags cost one image in the
# registry and in node caches. A named target gives each service an image whose default
# command is that service, its own name in the registry (scan reports, SBOMs and rollbacks
# per service) and lets the Kubernetes manifests run the image as built, with no command
# override to drift from the code.
#
# Base image: python:3.11.14-slim-bookworm pinned by the digest of its multi-arch index as
# published on Docker Hub and used by other public projects; this build machine has no
# registry access, so check it before a release:
#   docker buildx imagetools inspect python:3.11.14-slim-bookworm
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# ---------------------------------------------------------------------------------------------
# builder: generate the protobuf code and install the project (no extras) into /opt/venv.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# Pins: constraints.txt when the repository has one (the glob copies nothing otherwise).
COPY pyproject.toml constraints.tx[t] ./

# protoc lives in a throwaway tool venv: grpcio-tools is a build-time tool, never runtime.
RUN python -m venv /opt/tools \
 && if [ -f constraints.txt ]; then set -- -c constraints.txt; fi \
 && /opt/tools/bin/pip install "$@" grpcio-tools

COPY proto ./proto
RUN /opt/tools/bin/python -m grpc_tools.protoc -Iproto \
        --python_out=proto --pyi_out=proto --grpc_python_out=proto \
        $(find proto -name '*.proto')

COPY services ./services
# `pip install .` without extras: the `dev` extra (embedded database secantusdb, pytest,
# testcontainers, ...) never reaches an image.
RUN python -m venv /opt/venv \
 && if [ -f constraints.txt ]; then set -- -c constraints.txt; fi \
 && /opt/venv/bin/pip install "$@" . \
 && for dev in secantusdb pytest testcontainers honcho grpcio-tools ruff kubernetes-validate; do \
        if /opt/venv/bin/pip show "$dev" >/dev/null 2>&1; then \
            echo "development package $dev must not be in the runtime image" >&2; exit 1; \
        fi; \
    done \
 && /opt/venv/bin/python -c "import gateway, auth, keyvault, usage, parser, svccommon" \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# ---------------------------------------------------------------------------------------------
# runtime: what every service image has in common.
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp
# Fixed uid/gid 10001: the Kubernetes pods run as runAsUser/runAsGroup 10001 with a
# read-only root filesystem; the only writable place is /tmp (an emptyDir there).
RUN groupadd --system --gid 10001 aicosts \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin aicosts
# Owned by root and not writable by the service user.
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001

# ---------------------------------------------------------------------------------------------
# one target per service
FROM runtime AS auth
EXPOSE 50051 51051
CMD ["python", "-m", "auth"]

FROM runtime AS keyvault
EXPOSE 50052 51052
CMD ["python", "-m", "keyvault"]

FROM runtime AS usage
EXPOSE 50053 51053
CMD ["python", "-m", "usage"]

FROM runtime AS parser
EXPOSE 50054 51054
CMD ["python", "-m", "parser"]

# Last stage on purpose: a bare `docker build .` produces the public gateway.
FROM runtime AS gateway
EXPOSE 8080
CMD ["gunicorn", "-c", "python:gateway.gunicorn_conf", "gateway:create_app()"]
