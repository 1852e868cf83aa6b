#!/usr/bin/env bash
# Builds every sandbox image on a machine without a container registry (DESIGN.md, "Sandboxes"):
#   1. a Debian bookworm minbase root made with debootstrap, stripped of docs, locales and apt caches,
#      `docker import`ed as cyber-sandbox-base:<recipe hash>;
#   2. one image per runtime (shell, python, node) from the Dockerfiles here, with the legacy builder.
#
#   sandbox-images/build.sh          build what is missing or stale; a no-op (about a second) when all is current
#   sandbox-images/build.sh --force  rebuild the runtime images even when their recipe label matches
#
# Idempotent: each image carries a label with the hash of its recipe (this script's base recipe, the dpkg
# excludes and the Dockerfile), and is rebuilt only when the hash differs. The base root filesystem is cached
# as a tarball under $CYBER_INFRA_STATE/sandbox-images, so a machine that lost its images (or a CI cache
# restore) does not debootstrap again.
#
# Runs as root on Debian 12 (debootstrap needs it). Overrides: CYBER_DOCKER_SOCKET, CYBER_INFRA_STATE,
# CYBER_DEBIAN_MIRROR, CYBER_SANDBOX_TAG.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${CYBER_INFRA_STATE:-/var/lib/cyberdevstudio-infra}/sandbox-images"
DOCKER_SOCKET="${CYBER_DOCKER_SOCKET:-/var/run/docker.sock}"
MIRROR="${CYBER_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
TAG="${CYBER_SANDBOX_TAG:-bookworm}"
SUITE=bookworm
LABEL=dev.cyberdevstudio.sandbox.recipe
RUNTIMES=(shell python node)
FORCE=0

log() { printf '[sandbox-images] %s\n' "$*" >&2; }
die() {
  printf '[sandbox-images] ERROR: %s\n' "$*" >&2
  exit 1
}

docker_cli() { docker -H "unix://$DOCKER_SOCKET" "$@"; }

# make_rootfs DIR: the base root filesystem. Its text is part of the base hash (declare -f below), so editing
# it rebuilds the base.
make_rootfs() {
  local dir="$1"
  debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >&2
  # Packages installed later by the Dockerfiles skip docs and locales too.
  install -m 0644 "$HERE/base/dpkg-nodoc" "$dir/etc/dpkg/dpkg.cfg.d/01-cyber-nodoc"
  install -m 0644 "$HERE/base/apt-no-cache" "$dir/etc/apt/apt.conf.d/01-cyber-no-cache"
  rm -rf "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/locale/* "$dir"/usr/share/lintian "$dir"/usr/share/linda \
    "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* "$dir"/var/cache/debconf/*-old \
    "$dir"/var/log/* "$dir"/tmp/* "$dir"/var/tmp/*
  # Debootstrap copies the host's resolver and hostname; the sandbox has no network and its own hostname.
  : >"$dir/etc/resolv.conf"
  echo sandbox >"$dir/etc/hostname"
}

sha() { sha256sum | cut -c1-16; }

base_hash() {
  {
    echo "$SUITE"
    declare -f make_rootfs
    cat "$HERE/base/dpkg-nodoc" "$HERE/base/apt-no-cache"
  } | sha
}

image_label() {
  docker_cli image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

ensure_base() {
  local hash="$1" image="cyber-sandbox-base:$1" tarball="$STATE/base-$1.tar"
  if docker_cli image inspect "$image" >/dev/null 2>&1; then
    log "base: $image present"
    return
  fi
  if [[ ! -s "$tarball" ]]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/infra.sh up installs it)"
    [[ "$(id -u)" -eq 0 ]] || die "debootstrap needs root"
    mkdir -p "$STATE"
    local work
    work="$(mktemp -d "$STATE/rootfs.XXXXXX")"
    # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
    trap "rm -rf '$work'" EXIT
    log "base: debootstrap --variant=minbase $SUITE (a few minutes, once per recipe)"
    make_rootfs "$work/root"
    tar --numeric-owner -C "$work/root" -cf "$work/base.tar" .
    mv "$work/base.tar" "$tarball"
    rm -rf "$work"
    trap - EXIT
    # Older recipes' tarballs are dead weight.
    find "$STATE" -maxdepth 1 -name 'base-*.tar' ! -name "base-$hash.tar" -delete
  else
    log "base: importing cached $tarball"
  fi
  docker_cli import --change 'CMD ["/bin/sh"]' "$tarball" "$image" >/dev/null
  log "base: imported $image ($(du -h "$tarball" | cut -f1) tarball)"
}

build_runtime() {
  local runtime="$1" base="$2" image="cyber-sandbox-$1:$TAG" hash
  hash="$({
    echo "$base"
    cat "$HERE/$runtime/Dockerfile"
  } | sha)"
  if [[ "$FORCE" -eq 0 && "$(image_label "$image")" == "$hash" ]]; then
    log "$runtime: $image current"
    return
  fi
  log "$runtime: building $image"
  DOCKER_BUILDKIT=0 docker_cli build --quiet --label "$LABEL=$hash" \
    --build-arg "BASE=cyber-sandbox-base:$base" --tag "$image" "$HERE/$runtime" >/dev/null
  log "$runtime: built $image ($(docker_cli image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
}

main() {
  [[ "${1:-}" == "--force" ]] && FORCE=1
  command -v docker >/dev/null || die "the docker CLI is missing (scripts/infra.sh up installs it)"
  docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker engine answers on $DOCKER_SOCKET (scripts/infra.sh up starts one)"
  local started=$SECONDS base
  base="$(base_hash)"
  ensure_base "$base"
  for runtime in "${RUNTIMES[@]}"; do
    build_runtime "$runtime" "$base"
  done
  # Rebuilt images leave their predecessors untagged; drop only ours.
  docker_cli image prune --force --filter "label=$LABEL" >/dev/null
  log "done in $((SECONDS - started))s (tag $TAG)"
}

main "$@"
