#!/usr/bin/env bash
# Local stack only: the two roles production uses. The owner runs migrations; the app owns nothing.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_pw="$SHESHI_OWNER_PASSWORD" -v app_pw="$SHESHI_APP_PASSWORD" <<'SQL'
CREATE ROLE sheshi_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE sheshi_app LOGIN PASSWORD :'app_pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE DATABASE sheshi OWNER sheshi_owner;
SQL
