# The monitor as a container: non-root, state in /data, JSON logs on stdout.
#   docker build -t telegram-monitor .
#   docker run -v monitor-data:/data -e MONITOR_TELEGRAM_API_HASH=... telegram-monitor
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY migrations ./migrations
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim
RUN groupadd --system monitor && useradd --system --gid monitor --home-dir /data monitor \
    && mkdir -p /data && chown monitor:monitor /data
COPY --from=build /install /usr/local
COPY config.example.toml /usr/share/telegram-monitor/config.example.toml
USER monitor
WORKDIR /data
VOLUME ["/data"]
ENV MONITOR_CONFIG=/data/monitor.toml \
    PYTHONUNBUFFERED=1
# Logs are JSON lines on stderr (not a terminal), which container runtimes collect.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["monitor", "health"]
ENTRYPOINT ["monitor", "--log-format", "json"]
CMD ["run"]
