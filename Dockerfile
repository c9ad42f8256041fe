# voicekit mock (and kit) as a container image.
#
# The base image is a build argument so the image can be built where no public registry is reachable: any Debian
# bookworm image with python3 and python3-venv will do (tests/container/ builds one locally with debootstrap and
# `docker import`). Elsewhere, e.g.:  docker build --build-arg BASE_IMAGE=python:3.11-slim-bookworm -t voicekit .
#
#   docker build --network host -t voicekit --build-arg BASE_IMAGE=voicekit-debian-base:bookworm .
#   docker run --rm -p 8080:8080 voicekit                  # the mock on http://localhost:8080
#   docker run --rm voicekit certify --config /work/target.toml …   # the kit
#
# Every `voicekit mock` option is an environment variable (VOICEKIT_HOST, VOICEKIT_PORT, VOICEKIT_SEED,
# VOICEKIT_CSRF, VOICEKIT_ALLOW_ORIGINS, VOICEKIT_CONTROL_TOKEN, VOICEKIT_MAX_BODY_BYTES, VOICEKIT_JOURNAL_SIZE,
# VOICEKIT_COMETD_TIMEOUT_MS, VOICEKIT_COMETD_MAX_INTERVAL_MS, VOICEKIT_TOKEN_LIFETIME, VOICEKIT_RATE_LIMIT);
# VOICEKIT_SCENARIO names a scenario file (mount it).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --no-cache-dir --quiet --upgrade pip hatchling
WORKDIR /src
COPY pyproject.toml README.md ./
COPY voicekit ./voicekit
COPY mockserver ./mockserver
COPY conformance ./conformance
COPY specs ./specs
COPY fixtures ./fixtures
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation -q -w /dist .

FROM ${BASE_IMAGE}
RUN python3 -m venv /opt/voicekit
COPY --from=build /dist /dist
RUN /opt/voicekit/bin/pip install --no-cache-dir --quiet /dist/*.whl && rm -rf /dist \
    && useradd --system --uid 10001 --home-dir /work --create-home voicekit
ENV PATH=/opt/voicekit/bin:$PATH \
    VOICEKIT_HOST=0.0.0.0 \
    VOICEKIT_PORT=8080 \
    PYTHONUNBUFFERED=1
USER voicekit
WORKDIR /work
EXPOSE 8080
# The version request is the only anonymous GWS request (003 l.97-221): a healthy mock answers it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v2/diagnostics/version' % os.environ.get('VOICEKIT_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["voicekit"]
CMD ["mock"]
