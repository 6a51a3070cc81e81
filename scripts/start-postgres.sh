#!/usr/bin/env bash
# Starts Debian's PostgreSQL server for the database tests (installing it from Debian's packages if missing), with a
# role and database `brisk` that may create databases, and prints the DATABASE_URL to use. Run as root, as CI is:
#   export DATABASE_URL="$(scripts/start-postgres.sh)"
# Each test file creates a database of its own under that role and drops it afterwards (test/helpers/postgres.ts).
set -euo pipefail

pg_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2; }
command -v pg_ctlcluster >/dev/null || pg_install || { apt-get update >&2 && pg_install; }

version="$(ls /etc/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
  pg_ctlcluster "$version" main start >&2
fi

su postgres -c "psql -v ON_ERROR_STOP=1 -q" >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'brisk') THEN
    CREATE ROLE brisk LOGIN CREATEDB PASSWORD 'brisk';
  END IF;
END $$;
SELECT 'CREATE DATABASE brisk OWNER brisk' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'brisk')\gexec
SQL

port="$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')"
echo "postgres://brisk:brisk@127.0.0.1:${port}/brisk"
