# syntax=docker/dockerfile:1
# kube-scalers: `scalers run` in a slim image, as a numeric non-root user, on a read-only root
# file system (it writes nothing at run time).
#
#   docker build -t ghcr.io/kube-scalers/kube-scalers:0.1.0 .
#   kubectl apply -k manifests/
ARG PYTHON_IMAGE=python:3.11-slim

# Build: the project and its runtime dependencies (no dev extras) into a venv at the same path
# as in the runtime stage, so that the `scalers` script's shebang stays right.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
# pyproject.toml names README.md as the long description: setuptools needs it to build.
COPY pyproject.toml README.md ./
COPY scalers ./scalers
# No bytecode here: the runtime stage compiles what a start imports, and only that.
# Dropped from the venv: pip and setuptools (nothing installs at run time), vendored test
# suites, and the kubernetes package's asyncio client (kubernetes/aio, ~68 MB of source that
# `import kubernetes` never loads; the import check below fails the build if that changes).
RUN /opt/venv/bin/pip install --no-compile . \
 && /opt/venv/bin/pip uninstall --yes pip setuptools \
 && rm -rf /opt/venv/lib/python3.11/site-packages/kubernetes/aio \
 && find /opt/venv/lib/python3.11/site-packages -depth -type d \( -name tests -o -name test \) \
        -exec rm -rf '{}' +

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kube-scalers" \
      org.opencontainers.image.description="Schedule and cluster-proportional autoscaling for Kubernetes HPAs" \
      org.opencontainers.image.source="https://github.com/kube-scalers/kube-scalers" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric user, as distroless' nonroot, so that runAsNonRoot can verify it.
RUN groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin nonroot
COPY --from=build /opt/venv /opt/venv
# The dns-autoscaler's Deployment runs `command: [/cluster-proportional-autoscaler, --flags...]`:
# with this image in its place it runs `scalers run` with the same flags (see README).
RUN ln -s /opt/venv/bin/scalers /cluster-proportional-autoscaler
# 1. Import what `scalers run` imports, writing its bytecode (venv and stdlib) into the image:
#    with a read-only root nothing is cached at run time, and compiling the kubernetes client
#    on every start costs ~3 s of CPU. It also proves the venv works on this base.
# 2. Every IANA zone loads: from /usr/share/zoneinfo when the base image has it, else from the
#    `tzdata` package in the venv (a project dependency; Debian trixie images lack tzdata).
RUN /opt/venv/bin/python -c "import scalers.cli, scalers.clock, scalers.controller, scalers.kube.config, kubernetes" \
 && /opt/venv/bin/python -c "import zoneinfo; zones = zoneinfo.available_timezones(); assert len(zones) > 400, len(zones); [zoneinfo.ZoneInfo(z) for z in sorted(zones)]" \
 && /opt/venv/bin/scalers --version
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 65532:65532
# /healthz, /readyz and /metrics (--health-port).
EXPOSE 8080
ENTRYPOINT ["scalers"]
CMD ["run"]
