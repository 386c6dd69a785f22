# Slim, non-root image running the service under gunicorn (production profile).
#   docker build -t anakinra-cds .
#   docker run --rm -p 8080:8080 -e CDS_EXTERNAL_BASE_URL=https://cds.example.org \
#     -e CDS_TRUSTED_ISSUERS='[{"iss":"https://ehr.example.org","jwks_url":"https://ehr.example.org/.well-known/jwks.json"}]' \
#     -e CDS_FHIR_ALLOW=https://ehr.example.org/fhir -e DATABASE_URL=postgresql://... anakinra-cds
FROM python:3.11-slim AS build
WORKDIR /src
# The exact, hash-checked versions of requirements-production.lock (`make lock`), then the service without
# resolving anything again.
COPY requirements-production.lock ./
RUN pip install --no-cache-dir --prefix=/install -r requirements-production.lock
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
RUN pip install --no-cache-dir --prefix=/install --no-deps .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 cds
COPY --from=build /install /usr/local
WORKDIR /home/cds
USER cds
ENV CDS_PROFILE=production \
    CDS_VAR_DIR=/home/cds/var \
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2).status == 200 else 1)"
# cds_service/gunicorn_conf.py: 2 workers, --preload, port 8080, 30 s timeout, an access log without query strings.
CMD ["gunicorn", "-c", "python:cds_service.gunicorn_conf", "cds_service.wsgi:app"]
