# meshc: see README.md. Every target installs what it needs through the Go
# module proxy; nothing else is assumed on the machine.
GO          ?= go
BIN         := bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Fuzz budgets are counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" when the
# clock runs out mid-call (go.dev/issue/75804, fixed in Go 1.27). make test
# gives each of its twenty-odd targets a short pass over its corpus and some
# new inputs; for a deeper search run e.g. make fuzz FUZZTIME=2000000x.
FUZZTIME    ?= 30000x
EXAMPLE     ?= examples/wordcount.mesh

.PHONY: all build run test e2e fuzz bench lint fmt clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# run checks the example and runs it on the embedded broker: the generator
# writes sentences, the printing sink shows the word counts, and the run
# ends on its own once everything is through. meshc finds bin/meshrt
# beside it.
run: build
	$(BIN)/meshc fmt -d $(EXAMPLE)
	$(BIN)/meshc check $(EXAMPLE)
	$(BIN)/meshc run $(EXAMPLE)

# Unit and embedded-broker tests, then a short fuzzing pass per target.
# The concurrent packages run under the race detector; those but the
# broker (whose memory tests take their full size without it) run only
# there, as the same tests twice would add minutes and find nothing more.
RACE_PKGS   = ./lang/... ./broker/... ./runtime/... ./cmd/meshrt/... ./backends/local/...
NORACE_PKGS = $(shell $(GO) list ./... | grep -v -e '/lang$$' -e '/lang/' -e '/runtime$$' -e '/runtime/' -e '/cmd/meshrt$$' -e '/backends/local$$')

test:
	$(GO) test -count=1 $(NORACE_PKGS)
	$(GO) test -race -count=1 $(RACE_PKGS)
	$(MAKE) fuzz

# Tests against real schedulers: a Nomad agent, a kube-apiserver with etcd,
# and the Function Mesh operator whose admission webhooks that API server
# calls, built on first use (from the Go module proxy; the operator from its
# source, see .ci/fmoperator.sh) and cached by version in $(MESHC_CACHE).
# Each script prints the path of what it built. The Nomad tests run beside
# the Kubernetes ones, as both mostly wait on their schedulers; the
# Kubernetes tests run one after another (the operator's webhook port is
# fixed).
MESHC_CACHE ?= $(HOME)/.cache/meshc
export MESHC_CACHE

e2e: build
	.ci/node-packages.sh
	nomad=$$(.ci/nomad.sh) && kube=$$(.ci/kube.sh) && op=$$(.ci/fmoperator.sh) && { \
	  MESHC_NOMAD=$$nomad $(GO) test -tags e2e -count=1 -timeout 15m ./backends/nomad/ & pid=$$!; \
	  env $$kube $$op $(GO) test -tags e2e -count=1 -timeout 20m -run '^(TestAPIServer|TestNode)' ./backends/kubernetes/; k=$$?; \
	  wait $$pid; n=$$?; [ $$k -eq 0 ] && [ $$n -eq 0 ]; }

FUZZ = $(GO) test -run='^$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2000x

fuzz:
	$(FUZZ) -fuzz='^FuzzParse$$' ./lang
	$(FUZZ) -fuzz='^FuzzFormat$$' ./lang/format
	$(FUZZ) -fuzz='^FuzzParseTests$$' ./lang
	$(FUZZ) -fuzz='^FuzzFormatTests$$' ./lang/format
	$(FUZZ) -fuzz='^FuzzCompile$$' ./compiler
	$(FUZZ) -fuzz='^FuzzDecode$$' ./runtime/codec
	$(FUZZ) -fuzz='^FuzzSchema$$' ./runtime/codec
	$(FUZZ) -fuzz='^FuzzRecords$$' ./runtime/codec
	$(FUZZ) -fuzz='^FuzzWhere$$' ./runtime
	$(FUZZ) -fuzz='^FuzzInstanceConf$$' ./runtime
	$(FUZZ) -fuzz='^FuzzCredentials$$' ./runtime
	$(FUZZ) -fuzz='^FuzzChmodMode$$' ./runtime/podshell
	$(FUZZ) -fuzz='^FuzzRead$$' ./runtime/external/frame
	$(FUZZ) -fuzz='^FuzzDecodeFrame$$' ./broker/internal/wire
	$(FUZZ) -fuzz='^FuzzScanBatch$$' ./broker/internal/wire
	$(FUZZ) -fuzz='^FuzzScanMetadata$$' ./broker/internal/wire
	$(FUZZ) -fuzz='^FuzzReadSegment$$' ./broker/internal/storage
	$(FUZZ) -fuzz='^FuzzRegistration$$' ./broker/worker
	$(FUZZ) -fuzz='^FuzzGrant$$' ./broker
	$(FUZZ) -fuzz='^FuzzSchemaCompatibility$$' ./broker
	$(FUZZ) -fuzz='^FuzzDeployed$$' ./backends/pulsarworker
	$(FUZZ) -fuzz='^FuzzYAML$$' ./backends/kubernetes
	$(FUZZ) -fuzz='^FuzzYAMLValues$$' ./backends/kubernetes
	$(FUZZ) -fuzz='^FuzzSizer$$' ./backends/kubernetes
	$(FUZZ) -fuzz='^FuzzEncode$$' ./planner/plan
	$(FUZZ) -fuzz='^FuzzQuote$$' ./backends/nomad
	$(FUZZ) -fuzz='^FuzzPlanJSON$$' ./backends/nomad
	$(FUZZ) -fuzz='^FuzzString$$' ./internal/jsontext
	$(FUZZ) -fuzz='^FuzzFloat$$' ./internal/jsontext

# bench runs every benchmark, then prints one table: each compile stage
# and the instance runtime beside the bare client loop measured in the
# same run, with its goal and the ratio.
BENCHOUT    ?= $(BIN)/bench.txt
bench:
	@mkdir -p $(BIN)
	{ $(GO) test -run='^$$' -bench=. -benchmem ./... || echo FAIL; } | tee $(BENCHOUT)
	! grep -q '^FAIL' $(BENCHOUT)
	$(GO) run ./internal/stagebench -instance-cost $(BENCHOUT)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(GO) run ./cmd/meshc fmt -w examples/*.mesh examples/*/*.mesh examples/*.meshtest examples/*/*.meshtest

clean:
	rm -rf $(BIN)
