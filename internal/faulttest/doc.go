// Package faulttest is the container-level fault suite (docs/RELIABILITY.md):
// Temporal, three workers and two API replicas run as containers of an image
// built FROM scratch from the static mms binary, sharing no volume: mms's
// state is in PostgreSQL on the host and Graph is emulated in the test
// process, both reached through the network's gateway. The tests SIGKILL
// workers, restart Temporal and PostgreSQL, cut a worker off the network,
// restart or kill API replicas and make Graph fail. Its tests skip when no
// Docker engine (or no PostgreSQL) is available, unless CI is set.
package faulttest
