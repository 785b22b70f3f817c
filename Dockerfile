# payram web, worker and beat image (one image, three commands; see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/payram payram

COPY pyproject.toml ./
COPY . .
RUN pip install --upgrade pip && pip install -e . \
    && DEBUG=false SECRET_KEY=build-only python manage.py collectstatic --noinput

USER payram
EXPOSE 8000
CMD ["gunicorn", "payram.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
