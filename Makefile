# The two commands a newcomer needs: `make run` and `make test`.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
# Static binaries (FROM scratch images), and the same build configuration for
# binaries, vet, staticcheck and tests so they share one build cache: the
# Temporal server takes ~7 minutes to compile cold. Only -race needs cgo.
export CGO_ENABLED := 0
# Packages that link the embedded Temporal server: no -race (it would compile
# the server a second time, ~10 minutes cold) and as few test binaries as possible.
SERVER_PKGS := ./internal/embeddedtemporal ./internal/devstack ./internal/bench ./cmd/mms
RACE_PKGS    = $(shell $(GO) list ./... | grep -v -e /internal/embeddedtemporal -e /internal/devstack -e /internal/bench -e /cmd/mms -e /internal/faulttest)

.PHONY: run build build-slim test lint vet fmt-check test-race test-server test-fault fuzz bench sizes clean

## run: build mms and start the whole service on this machine (mms dev)
run: build
	./bin/mms dev

## build: the full binary (with the embedded Temporal server and UI for `mms dev`)
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/mms ./cmd/mms

## build-slim: the production binary without the embedded server (worker, api, admin verbs)
build-slim:
	$(GO) build -tags nodevserver -ldflags '$(LDFLAGS)' -o bin/mms-slim ./cmd/mms

## test: formatting, vet, staticcheck, then every test (race detector where concurrency runs)
test: fmt-check vet lint test-race test-postgres test-server test-fault fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

lint:
	$(GO) run $(STATICCHECK) ./...

test-race:
	CGO_ENABLED=1 $(GO) test -race -count=1 $(RACE_PKGS)

## test-postgres: the packages that use the store, again with their database
## on PostgreSQL (MMS_TEST_POSTGRES; the store's and the sandbox's own suites
## run on both engines in test-race). Same flags as test-race: no rebuild.
PG_PKGS := ./internal/intake ./api ./activities ./workflows
test-postgres:
	CGO_ENABLED=1 MMS_TEST_ENGINE=postgres $(GO) test -race -count=1 $(PG_PKGS)

test-server:
	$(GO) test -count=1 -timeout 15m $(SERVER_PKGS)

## test-fault: the container fault suite (docs/RELIABILITY.md): FROM scratch
## images of mms on a private Docker network (Temporal, 3 workers, 2 API
## replicas, no shared volume, state in a PostgreSQL on the host), workers
## SIGKILLed, Temporal and PostgreSQL restarted, a worker cut off, an API
## replica killed, Graph failing; nothing lost or done twice. Needs Docker
## and Debian's postgresql; skips without them unless CI is set.
test-fault:
	$(GO) test -count=1 -timeout 20m ./internal/faulttest

## fuzz: each fuzz target briefly (the committed corpus always runs in `go test`):
## the block engine, and the API's JSON bodies (never a 5xx, a rejection changes nothing).
## Budgets are execution counts (about 10 s each here), not durations: with a duration,
## Go 1.26's fuzz coordinator can fail at the deadline with "context deadline exceeded"
## and no crasher (golang/go#75804, fixed in Go 1.27). FUZZTIME=1m overrides them all.
FUZZTIME ?=
FUZZ_PKGS := ./internal/meetingblock:20000x ./api:2000x
fuzz:
	@for pn in $(FUZZ_PKGS); do \
		p=$${pn%%:*}; n="$(FUZZTIME)"; [ -n "$$n" ] || n=$${pn##*:}; \
		for t in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
			echo "fuzz $$p $$t ($$n)"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $$n $$p || exit 1; \
		done; \
	done

## bench: Go benchmarks of the hot pure code (the block engine, CPU per Graph
## request against the emulator, the rules), the store and the console's pages, then `mms bench`:
## the whole service end to end (throughput, scaling, orchestration overhead,
## Graph-limit efficiency, event intake), figures to bench.json. About 10
## minutes; docs/PERFORMANCE.md has the figures and what bounds them.
## Medians: BENCHCOUNT=5 (benchstat summarises bin/bench-go.txt), BENCHRUNS=3.
BENCHCOUNT ?= 1
BENCHRUNS ?= 1
BENCHSTAT ?= golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./internal/meetingblock ./internal/calendar/graph \
		./internal/rules ./internal/store ./internal/console > bin/bench-go.txt || { cat bin/bench-go.txt; exit 1; }
	cat bin/bench-go.txt
	$(GO) run $(BENCHSTAT) bin/bench-go.txt
	$(GO) test -run '^$$' -bench BenchmarkPreviewPeakMemory -benchtime 1x -count $(BENCHCOUNT) ./api
	./bin/mms bench --runs $(BENCHRUNS) --out bench.json

## sizes: print both binaries' sizes (the README quotes them)
sizes: build build-slim
	@ls -l bin/mms bin/mms-slim | awk '{printf "%s %.0f MB\n", $$9, $$5/1048576}'

clean:
	rm -rf bin
