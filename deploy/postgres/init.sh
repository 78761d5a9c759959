#!/usr/bin/env bash
# Runs once, on an empty data volume, from the postgres image's
# /docker-entrypoint-initdb.d (executed, or sourced when not executable: so no
# `set` here, which would leak into the image's entrypoint). Passwords come from
# the postgres service's environment (docker-compose.yml) and reach psql as
# variables, never as text in a file. The SQL is init.psql beside this file
# (the entrypoint skips a .psql file: "ignoring"). tests/postgres_init_test.ts
# runs this script against a throwaway cluster.
: "${KEEL_APP_PASSWORD:?set KEEL_APP_PASSWORD: the password of the keel_app role}"
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD: the password of the temporal role}"
psql --no-psqlrc -v ON_ERROR_STOP=1 \
  --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v app_db=keel -v app_role=keel_app -v app_password="$KEEL_APP_PASSWORD" \
  -v temporal_role=temporal -v temporal_password="$TEMPORAL_DB_PASSWORD" \
  -v temporal_db=temporal -v temporal_visibility_db=temporal_visibility \
  -f "$(dirname "${BASH_SOURCE[0]}")/init.psql"
