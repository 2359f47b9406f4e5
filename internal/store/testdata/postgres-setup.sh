#!/bin/sh
# A throwaway PostgreSQL cluster for the tests (Debian's `postgresql`):
#   postgres-setup.sh start DIR [PORT]  initdb in DIR, start on 127.0.0.1:PORT (default 55432)
#   postgres-setup.sh stop DIR
# Trust authentication on loopback only; tests create a database each
# (internal/store/storetest) through the URL printed on stdout, which
# .ci/run exports as MMS_TEST_POSTGRES. The server refuses to run as root,
# so under root it runs as the `postgres` user the package creates.
set -eu
cmd=$1 dir=$2 port=${3:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --locale=C.UTF-8 >"$dir/initdb.log"
	# fsync off: a test cluster need not survive a power cut. Enough
	# connections for the packages testing in parallel (make test runs
	# several test binaries at once, each with a few pools).
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
		"-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off" start >/dev/null
	echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	;;
stop)
	as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
	;;
*)
	echo "usage: $0 start|stop DIR [PORT]" >&2
	exit 2
	;;
esac
