#!/usr/bin/env bash
# Builds, with no container registry, local stand-ins for every upstream image docker-compose.yml uses, so that
# `docker compose -f docker-compose.yml -f docker-compose.test.yml up` works on a machine that cannot pull:
#
#   cyber-local-debian:bookworm     the debootstrap Debian base of sandbox-images/build.sh, re-tagged
#   cyber-local-node:20             that base + the host's Node.js binary, npm and CA certificates (Debian
#                                   12's nodejs is 18, too old); NODE_BASE of docker/Dockerfile in the test
#                                   override
#   cyber-local-postgres:15         PostgreSQL from Debian's packages (stand-in for PostgresML)
#   cyber-local-redis:7             Redis from Debian's packages
#   cyber-local-kafka:4.1.1         the Maven Central jars of infra/kafka/pom.xml on Debian's Java 17
#   cyber-local-prometheus:2        Prometheus from Debian's packages
#
# It also runs sandbox-images/build.sh, because the api starts its sandboxes from those images on the host's
# engine. Idempotent: each image carries a label with the hash of its recipe (Dockerfile, files copied in, base
# image id) and is rebuilt only when that differs; a run with everything current takes a few seconds.
# There is no local stand-in for the OpenTelemetry collector (neither Debian nor a registry here ships one):
# the test override leaves that service out.
#
#   docker/build-local-bases.sh          build what is missing or stale
#   docker/build-local-bases.sh --print  print the image names as KEY=VALUE lines (for the test override)
#
# Runs as root on Debian 12 (debootstrap, apt-get). Installs docker-compose (Debian's) when neither
# `docker compose` nor `docker-compose` is there. Overrides: CYBER_INFRA_STATE, CYBER_DOCKER_SOCKET.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/.." && pwd)"
STATE="${CYBER_INFRA_STATE:-/var/lib/cyberdevstudio-infra}"
DOCKER_SOCKET="${CYBER_DOCKER_SOCKET:-/var/run/docker.sock}"
LABEL=dev.cyberdevstudio.local-base.recipe

DEBIAN_IMAGE=cyber-local-debian:bookworm
NODE_IMAGE=cyber-local-node:20
POSTGRES_IMAGE=cyber-local-postgres:15
REDIS_IMAGE=cyber-local-redis:7
KAFKA_IMAGE=cyber-local-kafka:4.1.1
PROMETHEUS_IMAGE=cyber-local-prometheus:2

log() { printf '[local-bases] %s\n' "$*" >&2; }
die() {
  printf '[local-bases] ERROR: %s\n' "$*" >&2
  exit 1
}
docker_cli() { docker -H "unix://$DOCKER_SOCKET" "$@"; }
sha() { sha256sum | cut -c1-16; }

print_images() {
  printf '%s=%s\n' CYBER_LOCAL_NODE_IMAGE "$NODE_IMAGE" CYBER_LOCAL_POSTGRES_IMAGE "$POSTGRES_IMAGE" \
    CYBER_LOCAL_REDIS_IMAGE "$REDIS_IMAGE" CYBER_LOCAL_KAFKA_IMAGE "$KAFKA_IMAGE" \
    CYBER_LOCAL_PROMETHEUS_IMAGE "$PROMETHEUS_IMAGE"
}

# The compose CLI: the v2 plugin where installed, else Debian 12's docker-compose (1.29), installed if missing.
ensure_compose() {
  if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; then return; fi
  [[ "$(id -u)" -eq 0 ]] || die "neither 'docker compose' nor docker-compose is installed"
  log "installing Debian's docker-compose"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null
}

# The debootstrap base: sandbox-images/build.sh makes (or imports) it; the newest cyber-sandbox-base is current.
ensure_debian() {
  bash "$REPO_ROOT/sandbox-images/build.sh"
  local base
  base="$(docker_cli images cyber-sandbox-base --format '{{.CreatedAt}}|{{.Repository}}:{{.Tag}}' | sort -r |
    head -n 1 | cut -d'|' -f2)"
  [[ -n "$base" ]] || die "sandbox-images/build.sh made no cyber-sandbox-base image"
  docker_cli tag "$base" "$DEBIAN_IMAGE"
  log "debian: $DEBIAN_IMAGE is $base"
}

image_id() { docker_cli image inspect --format '{{.Id}}' "$1"; }
image_label() {
  docker_cli image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

# build IMAGE CONTEXT DOCKERFILE: builds IMAGE on the Debian base unless its recipe hash is current. The hash
# covers the base's id and every file of CONTEXT (the Dockerfile among them).
build() {
  local image="$1" context="$2" dockerfile="$3" hash
  hash="$({
    image_id "$DEBIAN_IMAGE"
    (cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  } | sha)"
  if [[ "$(image_label "$image")" == "$hash" ]]; then
    log "$image current"
    return
  fi
  log "building $image"
  local started=$SECONDS
  DOCKER_BUILDKIT=0 docker_cli build --quiet --label "$LABEL=$hash" --build-arg "DEBIAN_BASE=$DEBIAN_IMAGE" \
    --file "$context/$dockerfile" --tag "$image" "$context" >/dev/null
  log "built $image in $((SECONDS - started))s ($(docker_cli image inspect --format '{{.Size}}' "$image" |
    awk '{printf "%.0f MB", $1/1e6}'))"
}

# A build context with only the named files of docker/local (plus extra ones the caller adds).
context() {
  local dir="$WORK/$1"
  shift
  mkdir -p "$dir"
  local file
  for file in "$@"; do cp "$HERE/local/$file" "$dir/"; done
  printf '%s' "$dir"
}

# The Kafka jars as scripts/infra.sh resolves them: reuse its directory when it matches the pom, else mvn.
kafka_lib() {
  local pom="$REPO_ROOT/infra/kafka/pom.xml" want lib="$STATE/kafka/lib"
  want="$(sha256sum "$pom" | awk '{print $1}')"
  if [[ -f "$lib/.pom.sha256" && "$(<"$lib/.pom.sha256")" == "$want" ]]; then
    printf '%s' "$lib"
    return
  fi
  command -v mvn >/dev/null || die "maven is missing (scripts/infra.sh up installs it)"
  log "kafka: resolving jars from Maven Central"
  (cd "$REPO_ROOT/infra/kafka" &&
    timeout 600 mvn -q -B dependency:copy-dependencies -Dkafka.lib.dir="$WORK/kafka-lib") >&2 ||
    die "mvn dependency:copy-dependencies failed"
  printf '%s' "$WORK/kafka-lib"
}

main() {
  if [[ "${1:-}" == "--print" ]]; then
    print_images
    return
  fi
  command -v docker >/dev/null || die "the docker CLI is missing (scripts/infra.sh up installs it)"
  docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker engine answers on $DOCKER_SOCKET (scripts/infra.sh up starts one)"
  local started=$SECONDS dir node
  ensure_compose
  WORK="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
  trap "rm -rf '$WORK'" EXIT
  ensure_debian

  node="$(command -v node)" || die "Node.js is missing on the host"
  dir="$(context node node.Dockerfile)"
  cp "$(readlink -f "$node")" "$dir/node"
  cp -R "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$dir/npm"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/ca-certificates.crt"
  build "$NODE_IMAGE" "$dir" node.Dockerfile

  build "$POSTGRES_IMAGE" "$(context postgres postgres.Dockerfile postgres-start.sh)" postgres.Dockerfile
  build "$REDIS_IMAGE" "$(context redis redis.Dockerfile)" redis.Dockerfile
  build "$PROMETHEUS_IMAGE" "$(context prometheus prometheus.Dockerfile)" prometheus.Dockerfile

  dir="$(context kafka kafka.Dockerfile kafka-start.sh kafka-ready.sh)"
  mkdir -p "$dir/lib"
  find "$(kafka_lib)" -maxdepth 1 -name '*.jar' -exec cp {} "$dir/lib/" \;
  build "$KAFKA_IMAGE" "$dir" kafka.Dockerfile

  docker_cli image prune --force --filter "label=$LABEL" >/dev/null
  log "done in $((SECONDS - started))s"
}

main "$@"
