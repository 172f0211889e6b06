# Sunlit Live: one image for `live serve` (see docker-compose.yml for Redis beside it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY live ./live
COPY templates ./templates
COPY static ./static
# Editable install: the app serves templates/ and static/ from beside the package.
# Console photos go to /uploads, made here for the app's user: a volume mounted on it (compose)
# starts with this owner, where a folder missing from the image would be root's, not writable.
RUN pip install --no-cache-dir -e . \
    && useradd --system --uid 10001 --home /nonexistent live \
    && install -d -o live /uploads
ENV LIVE_UPLOAD_DIR=/uploads

USER live
# `live serve` is safe to expose as it is: request line + headers are capped (431), slow or
# silent clients are cut (408), each address holds a bounded number of connections (429), the
# open-file soft limit is raised to the hard limit (run with --ulimit nofile=65536:65536), and
# X-Forwarded-For is ignored unless LIVE_TRUSTED_PROXIES names a proxy. See docs/security.md.
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["live", "serve", "--host", "0.0.0.0", "--port", "8000"]
