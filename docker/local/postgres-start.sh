#!/bin/bash
# Entry point of cyber-local-postgres (runs as root, drops to postgres): initialises /var/lib/postgresql/data on
# first start, creates the application role and database from CYBER_DB_USER / CYBER_DB_PASSWORD / CYBER_DB_NAME
# (idempotent, like the PostgresML service's command in docker-compose.yml), marks /tmp/.cyber-ready for the
# healthcheck and then runs the server in the foreground so `docker stop` shuts it down cleanly.
set -euo pipefail
DATA=/var/lib/postgresql/data
user="${CYBER_DB_USER:-cyber}" password="${CYBER_DB_PASSWORD:?CYBER_DB_PASSWORD is required}" db="${CYBER_DB_NAME:-cyber}"
rm -f /tmp/.cyber-ready
install -d -o postgres -g postgres -m 0700 "$DATA"
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [[ ! -s "$DATA/PG_VERSION" ]]; then
  as_pg initdb -D "$DATA" --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  printf "listen_addresses = '*'\n" >>"$DATA/postgresql.conf"
  echo 'host all all all scram-sha-256' >>"$DATA/pg_hba.conf"
fi
# Set up the role and database on a socket-only server first, then serve on the network.
as_pg pg_ctl -D "$DATA" -o "-c listen_addresses=''" -w start >/dev/null
as_pg psql -v ON_ERROR_STOP=1 -q -v user="$user" -v password="$password" -v db="$db" <<'SQL'
SELECT format('CREATE ROLE %I', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN CREATEDB PASSWORD %L', :'user', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
as_pg pg_ctl -D "$DATA" -m fast -w stop >/dev/null
touch /tmp/.cyber-ready
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$DATA"
