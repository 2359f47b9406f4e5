#!/bin/sh
# Run by the postgres image on an empty data directory: mms's own role and
# database (mms creates its tables itself, on first start).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
	-v pw="$MMS_DB_PASSWORD" <<'SQL'
CREATE ROLE mms LOGIN PASSWORD :'pw';
CREATE DATABASE mms OWNER mms;
SQL
