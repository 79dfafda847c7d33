# The service's image: `docker build -t eco-orchestrator .` where the base image's registry is reachable
# (README: Deploying). Runs the API (uvicorn) by default; `eco-orchestrator migrate` and
# `eco-orchestrator worker` are the other commands the same image runs.
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: wheels of the project and of every dependency (compiled here when no wheel is published) ---
FROM ${PYTHON_IMAGE} AS builder
# The compiler comes in the version of the base image's Debian release; it never reaches the final image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
# EXTRAS=s3 adds the client of S3-compatible attachment stores (ATTACHMENT_STORE=s3).
ARG EXTRAS=""
RUN pip wheel --wheel-dir /wheels ".${EXTRAS:+[$EXTRAS]}"

# --- final: the base image, a virtual environment installed from those wheels, no compiler ---
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/eco-orchestrator/.venv \
    PATH=/opt/eco-orchestrator/.venv/bin:$PATH \
    ENVIRONMENT=production
# The service runs as uid and gid 10001 (deploy/k8s runAsUser), owning no file it runs.
RUN groupadd --system --gid 10001 eco-orchestrator \
    && useradd --system --uid 10001 --gid eco-orchestrator --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin eco-orchestrator \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/eco-orchestrator
# /var/lib/eco-orchestrator is the one directory the service writes (ANCHOR_LOG, ATTACHMENT_DIRECTORY):
# mount a volume there; everything else may be read-only.
WORKDIR /opt/eco-orchestrator
# The schema's migrations and the procedures deployed at start, read (never written) by the service.
COPY alembic.ini ./
COPY migrations ./migrations
COPY bpmn ./bpmn
# The package finds alembic.ini, migrations/ and bpmn/ beside itself (app/settings.py PROJECT_ROOT):
# they are linked into the directory the wheel installs it in.
# The wheels are mounted from the builder stage, never stored in a layer (BuildKit, Docker's default builder).
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv "${VIRTUAL_ENV}" \
    && pip install --no-index --find-links=/wheels /wheels/*.whl \
    && root="$(python -c 'from app.settings import PROJECT_ROOT; print(PROJECT_ROOT)')" \
    && ln -s /opt/eco-orchestrator/alembic.ini /opt/eco-orchestrator/migrations /opt/eco-orchestrator/bpmn "${root}/" \
    && eco-orchestrator --help > /dev/null
ENV DEPLOY_ON_START=/opt/eco-orchestrator/bpmn
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=4)"]
# Behind a reverse proxy: FORWARDED_ALLOW_IPS names the proxies whose X-Forwarded-For uvicorn believes
# (the sign-in throttle counts failures per client address). WEB_CONCURRENCY sets uvicorn's processes.
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8080", "--proxy-headers", "--no-server-header"]
