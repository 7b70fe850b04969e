# One image for every service of docker-compose.yml: the API, the driver, the Ray head and the Ray workers
# (Ray workers import the same code the driver sends them).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAY_USAGE_STATS_ENABLED=0

WORKDIR /app

# The CPU build of torch, pinned: an unpinned torch from PyPI pulls a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md alembic.ini ./
COPY searchspace ./searchspace
COPY workers ./workers
COPY scaler ./scaler
COPY store ./store
COPY jobs ./jobs
COPY api ./api
# /var/lib/nas/artifacts: where compose mounts the trained networks' volume (a new volume takes this owner)
RUN pip install . && useradd --create-home --uid 1000 nas \
    && mkdir -p /var/lib/nas/artifacts && chown -R nas:nas /var/lib/nas

USER nas
EXPOSE 8000
# docker-compose.yml overrides the command per service; alone, the image serves the API with its driver.
CMD ["python", "-m", "api", "--host", "0.0.0.0", "--port", "8000", "--with-driver"]
