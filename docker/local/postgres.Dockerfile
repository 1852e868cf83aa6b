# cyber-local-postgres: PostgreSQL 15 from Debian's packages, the stand-in for the PostgresML image in
# docker-compose.test.yml (the migrations guard the pgml extension, so plain PostgreSQL serves the product).
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && rm -rf /var/lib/postgresql/15/main /etc/postgresql/15/main \
    && install -d -o postgres -g postgres -m 0775 /var/run/postgresql
COPY postgres-start.sh /usr/local/bin/cyber-postgres
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
EXPOSE 5432
STOPSIGNAL SIGINT
CMD ["cyber-postgres"]
