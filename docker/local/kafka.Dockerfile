# cyber-local-kafka: Apache Kafka from the Maven Central jars that infra/kafka/pom.xml pins (copied in by
# docker/build-local-bases.sh) on Debian's Java 17, the stand-in for apache/kafka in docker-compose.test.yml.
# It reads the same KAFKA_* and CLUSTER_ID variables as that image (see kafka-start.sh).
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
# The JRE's postinst links its man page into /usr/share/man/man1, which the base strips.
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 1000 appuser \
    && useradd --system --uid 1000 --gid appuser --no-create-home --home-dir /nonexistent appuser \
    && install -d -o appuser -g appuser -m 0750 /var/lib/kafka/data /opt/kafka/config
COPY lib /opt/kafka/libs
COPY kafka-start.sh /usr/local/bin/cyber-kafka
COPY kafka-ready.sh /usr/local/bin/cyber-kafka-ready
USER appuser
EXPOSE 9092
CMD ["cyber-kafka"]
