# cyber-local-redis: Redis from Debian's packages (7.0), the stand-in for redis:7.4-alpine in
# docker-compose.test.yml. Same command line and healthcheck (`redis-server ...`, `redis-cli ping`).
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o redis -g redis -m 0750 /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]
