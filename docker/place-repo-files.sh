#!/bin/sh
# place-repo-files.sh DEPLOY_DIR: copies the repository files that workspace packages read at run time into a
# `pnpm deploy` output. @cyber/db reads `database/migrations/` and @cyber/sandbox reads
# `sandbox-images/seccomp.json` at `new URL('../../../<file>', import.meta.url)` from their dist, which in a
# deploy is `node_modules/.pnpm/@cyber+<pkg>@file+.../node_modules/<file>`. Run from the repository root.
set -eu
deploy="$1"
found=0
for dir in "$deploy"/node_modules/.pnpm/@cyber+db@*/node_modules; do
  [ -d "$dir/@cyber/db/dist" ] || continue
  mkdir -p "$dir/database"
  cp -R database/migrations "$dir/database/migrations"
  found=1
done
[ "$found" -eq 1 ] || { echo "place-repo-files: no @cyber/db in $deploy" >&2; exit 1; }
for dir in "$deploy"/node_modules/.pnpm/@cyber+sandbox@*/node_modules; do
  [ -d "$dir/@cyber/sandbox/dist" ] || continue
  mkdir -p "$dir/sandbox-images"
  cp sandbox-images/seccomp.json "$dir/sandbox-images/seccomp.json"
done
