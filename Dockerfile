# syntax=docker/dockerfile:1
# One image for every wikitop process: the API (default), `worker`, and `run` (the hourly scheduler).
#
#   docker build -t wikitop:0.1.0 .
#   docker run --rm -p 8080:8080 wikitop:0.1.0                     # the API, embedded defaults
#   docker run --rm wikitop:0.1.0 worker --concurrency 2           # a worker (needs WIKITOP_BROKER_URL)
#   docker run --rm -v wikitop-data:/data wikitop:0.1.0 run 2020010115
#
# Needs BuildKit (the default builder since Docker 23) for the RUN --mount below.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build stage: the wikitop wheel (with its C engine, hence gcc) and the wheels of everything it
# needs, extras included, at the versions of requirements/service.lock, each checked against its hash.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
# Debian's gcc of the base image's release: pinning its exact version would break on every point release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements/service.lock ./requirements/
# Only wheels: no dependency's setup code runs at build time. The lock holds the whole closure of
# wikitop[postgres,s3,redis], hence --no-deps for wikitop itself. A separate layer, so that editing
# the source does not download the dependencies again.
RUN pip wheel --wheel-dir /wheels --require-hashes --only-binary=:all: -r requirements/service.lock
COPY pyproject.toml setup.py README.md ./
COPY src ./src
RUN pip wheel --wheel-dir /wheels --no-deps .

# Final stage: no compiler, no build backend, no source tree; the wheels are mounted, not copied.
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="wikitop" \
      org.opencontainers.image.description="The 25 most viewed pages of every Wikipedia domain code, hour by hour" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    WIKITOP_DATA_DIR=/data
# A numeric UID, so that Kubernetes' runAsNonRoot can check it without a passwd lookup.
RUN groupadd --system --gid 10001 wikitop \
 && useradd --system --uid 10001 --gid wikitop --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin wikitop \
 && mkdir /data \
 && chown wikitop:wikitop /data
# Unpinned on purpose (hadolint DL3013): --no-index installs exactly the wheels of the lock above.
# The import fails the build, rather than the first start, if an extra misses a library or the
# wheel lacks its C engine (without which wikitop runs, but about twice slower).
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "wikitop[postgres,s3,redis]" \
 && python -c "import wikitop._native, wikitop.web.server, wikitop.queue.worker, redis, psycopg, s3fs" \
 && wikitop --version
WORKDIR /app
# Declared after the chown: a new volume starts with /data's owner, so the non-root user can write.
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
# Checks the API (the default command). Compose disables it for the worker and scheduler, which
# serve no HTTP; Kubernetes ignores it and uses the probes in deploy/k8s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["wikitop"]
CMD ["api", "--host", "0.0.0.0"]
