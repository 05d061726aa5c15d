# Arbiter decision service: the bundled packs served by `arbiter serve` on port 8000.
#   docker build -t arbiter . && docker run --rm -p 8000:8000 arbiter
# Configuration is the environment (README: Configuration); mount your own packs over
# /app/policy_packs, or set ARBITER_PACKS to another folder.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app
# the service only: no durable-rules (a C build), no pyarrow (the replay's), no dev tools
COPY pyproject.toml README.md LICENSE ./
COPY rules ./rules
COPY engine ./engine
COPY api ./api
COPY importers ./importers
COPY replay ./replay
COPY simulate.py ./
RUN pip install --no-compile . && useradd --system --uid 10001 --home-dir /app arbiter
COPY policy_packs ./policy_packs
RUN arbiter check policy_packs --no-analysis

USER arbiter
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/readyz', timeout=2)"]
ENTRYPOINT ["sh", "-c", "exec arbiter serve --packs \"${ARBITER_PACKS:-policy_packs}\" --host \"$HOST\" --port \"$PORT\" \"$@\"", "arbiter"]
