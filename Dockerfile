# syntax=docker/dockerfile:1
# One image for the API, the Celery workers, beat and the migrations: the command
# picks the role (see compose.yaml). Code is owned by root and read-only to the
# unprivileged user the processes run as.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A compiler only here, for any dependency without a wheel for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

FROM python:${PYTHON_VERSION}-slim AS runtime
RUN groupadd --system --gid 10001 library \
 && useradd --system --uid 10001 --gid library --no-create-home --shell /usr/sbin/nologin library
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY api ./api
COPY worker ./worker
COPY migrations ./migrations
COPY config.py wsgi.py celery_app.py gunicorn.conf.py ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_CONFIG=production \
    LOG_FORMAT=json
USER library
EXPOSE 8000
CMD ["gunicorn", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "wsgi:app"]
