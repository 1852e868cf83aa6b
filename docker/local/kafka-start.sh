#!/bin/bash
# Entry point of cyber-local-kafka. Like the apache/kafka image it turns every KAFKA_* variable into a broker
# property (KAFKA_ dropped, lower case, `___` -> `-`, `__` -> `_`, `_` -> `.`; KAFKA_HEAP_OPTS stays a JVM
# setting), formats the log directory with CLUSTER_ID on first start and runs the broker in the foreground.
set -euo pipefail
CONFIG=/opt/kafka/config/server.properties
: >"$CONFIG"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
    KAFKA_*)
      key="${name#KAFKA_}"
      key="$(printf '%s' "$key" | tr '[:upper:]' '[:lower:]' | sed 's/___/-/g; s/__/@/g; s/_/./g; s/@/_/g')"
      printf '%s=%s\n' "$key" "$value" >>"$CONFIG"
      ;;
  esac
done < <(env)
log_dirs="$(sed -n 's/^log\.dirs=//p' "$CONFIG")"
log_dirs="${log_dirs:-/var/lib/kafka/data}"
if [[ ! -f "$log_dirs/meta.properties" ]]; then
  java -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
    -t "${CLUSTER_ID:?CLUSTER_ID is required}" -c "$CONFIG" >/dev/null
fi
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several JVM flags.
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
  -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn \
  -cp '/opt/kafka/libs/*' kafka.Kafka "$CONFIG"
