// Package faulttest is the container-level fault suite (docs/RELIABILITY.md):
// Temporal, two workers and the API run as containers of an image built
// FROM scratch from the static mms binary, against a Graph emulator in the
// test process, while the tests SIGKILL workers, restart Temporal, cut a
// worker off the network, restart the API and make Graph fail. Its tests
// skip when no Docker engine is reachable, unless CI is set.
package faulttest
