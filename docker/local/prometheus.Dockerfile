# cyber-local-prometheus: Prometheus from Debian's packages (2.42), the stand-in for prom/prometheus in
# docker-compose.test.yml. Same entry point (the prometheus binary; compose passes the flags) and wget for
# the same healthcheck.
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus wget \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o nobody -g nogroup -m 0755 /prometheus
USER nobody
WORKDIR /prometheus
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
