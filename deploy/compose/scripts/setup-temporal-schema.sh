#!/bin/sh
# Temporal's persistence and visibility databases on PostgreSQL, created
# if missing and migrated to the schema versions the admin-tools image
# ships (the server of the same version expects them).
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal "$@"; }
for db in temporal temporal_visibility; do
	case $db in temporal) dir=temporal ;; *) dir=visibility ;; esac
	tool --db "$db" create || true # exists after the first start
	tool --db "$db" setup-schema -v 0.0 || true
	tool --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done
