# The monitor as a container: non-root, state in /data, JSON logs on stdout.
#   docker build -t telegram-monitor .                      (Apprise included)
#   docker build --build-arg EXTRAS= -t telegram-monitor .  (the base install only)
#   docker run -v monitor-data:/data -e MONITOR_TELEGRAM_API_HASH=... telegram-monitor
# Every version comes from requirements.lock; the base image is pinned by its exact tag (the
# interpreter CI tests on). `python scripts/dockerfile_steps.py` runs the build stage's steps
# in a plain venv where no Docker engine is at hand.
FROM python:3.11.11-slim-bookworm AS build
ARG EXTRAS=apprise
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/monitor
# The dependency layer: built from the lock alone, so editing the source reuses it.
COPY pyproject.toml requirements.lock ./
COPY scripts/requirements.py ./scripts/
RUN python scripts/requirements.py "$EXTRAS" > deps.txt \
    && /opt/monitor/bin/pip install -c requirements.lock -r deps.txt
# The package itself, on top, without touching the dependencies.
COPY README.md ./
COPY monitor ./monitor
COPY migrations ./migrations
RUN /opt/monitor/bin/pip install --no-deps . \
    && /opt/monitor/bin/pip check

FROM python:3.11.11-slim-bookworm
# uid/gid 10001: a bind-mounted ./data must be writable by it (README: "Container").
RUN groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid monitor --home-dir /data monitor \
    && mkdir -p /data && chown monitor:monitor /data
COPY --from=build /opt/monitor /opt/monitor
COPY config.example.toml /usr/share/telegram-monitor/config.example.toml
ENV PATH=/opt/monitor/bin:$PATH \
    MONITOR_CONFIG=/data/monitor.toml \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# Logs are JSON lines on stderr (not a terminal), which container runtimes collect.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["monitor", "health"]
ENTRYPOINT ["monitor", "--log-format", "json"]
CMD ["run"]
