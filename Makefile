# hookline — make targets. Everything a fresh machine with Go needs is here.
SHELL := /bin/bash
GO    ?= go
STACK ?= dev
BIN   := $(CURDIR)/bin
RIE   := $(BIN)/aws-lambda-rie
KMS   := $(BIN)/local-kms

.PHONY: all test prereqs check tools browser portal policy plan plan-json build handler bench fuzz clean tidy

all: check test

## test: the README's test command — static checks, the tools the tests
## run (installed into bin/ when missing), then every test, and a short run
## of every fuzz target.
test: prereqs
	@mkdir -p $(CURDIR)/.build/test-output
	@echo "running every test (the engine and portal tests drive the real Pulumi engine: a few minutes) ..."
	HOOKLINE_REQUIRE_ENGINE=1 HOOKLINE_REQUIRE_NODE=1 HOOKLINE_REQUIRE_KMS=1 $(GO) test -count=1 -timeout 30m -artifacts -outputdir $(CURDIR)/.build/test-output ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=20000x

## prereqs: the static checks first (they compile the dependencies the CLI
## build shares, so it finds them built: run side by side on a cold cache,
## both compiled them, which cost more than it saved on 2 cores), then the
## tools side by side with the browser (compiling beside a download).
prereqs: check
	@$(MAKE) --no-print-directory -j2 tools browser

## tools: the Lambda Runtime Interface Emulator and local-kms (a KMS peer
## implementation the seal tests run against), both pinned in tools/go.mod,
## and the Pulumi CLI at the SDK's version in go.mod (unless one is on
## PATH), into bin/. Fast when they are there.
tools: $(RIE) $(KMS)
	@bash scripts/build-pulumi.sh

$(RIE): tools/go.mod tools/go.sum
	cd tools && GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
	@touch $@

$(KMS): tools/go.mod tools/go.sum
	cd tools && GOBIN=$(BIN) $(GO) install github.com/nsmithuk/local-kms
	@touch $@

## browser: a Chromium for the portal's browser test: HOOKLINE_CHROME or one
## on PATH if there is one, else Debian's chromium (needs apt-get and root).
CHROMES := chromium chromium-browser google-chrome google-chrome-stable
browser:
	@if [ -n "$$HOOKLINE_CHROME" ]; then exit 0; fi; \
	for c in $(CHROMES); do command -v $$c >/dev/null 2>&1 && exit 0; done; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium for the browser test (about a minute) ..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: the browser test will skip (HOOKLINE_REQUIRE_BROWSER=1 makes it fail)"; \
	else \
	  echo "no Chromium or Chrome found and no root apt-get to install one: set HOOKLINE_CHROME=/path/to/chrome, or the browser test skips"; \
	fi

## portal: the self-service portal on http://127.0.0.1:8080 with its defaults.
portal:
	$(GO) run ./cmd/hookline portal

## fuzz: every fuzz target for FUZZTIME each: a count of inputs (a duration such
## as 1m works too, but Go can then report a spurious "context deadline exceeded").
FUZZTIME ?= 2000000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseStripeHeader$$' -fuzztime $(FUZZTIME) ./handler/signature/
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyHeaders$$' -fuzztime $(FUZZTIME) ./handler/signature/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./contract/

## check: gofmt, go vet and go mod tidy leave no diff.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.build/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@cp go.mod /tmp/hookline-go.mod.bak && cp go.sum /tmp/hookline-go.sum.bak; \
	  $(GO) mod tidy; \
	  if ! cmp -s go.mod /tmp/hookline-go.mod.bak || ! cmp -s go.sum /tmp/hookline-go.sum.bak; then \
	    echo "go mod tidy changed go.mod/go.sum: commit the tidy result"; exit 1; fi

## policy: the policy pack as a binary, for pulumi preview --policy-pack bin/hookline-policy.
policy:
	$(GO) build -o bin/hookline-policy ./policy

## plan: the offline plan of a stack (STACK=dev by default) as a table.
plan:
	$(GO) run ./cmd/hookline plan --stack $(STACK)

## plan-json: the same plan as JSON.
plan-json:
	$(GO) run ./cmd/hookline plan --stack $(STACK) --output json

## build: the hookline command into bin/.
build:
	$(GO) build -o bin/hookline ./cmd/hookline

## handler: the Lambda bootstrap, exactly as the program builds it.
handler:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -buildvcs=false \
	  -ldflags="-s -w -buildid=" -o .build/handler/bootstrap ./handler
	@ls -l .build/handler/bootstrap

## bench: benchmarks, each reported next to a baseline measured in the same run.
bench: tools
	$(GO) test -run '^$$' -bench BenchmarkBatch -count 3 ./handler/consumer/
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./handler/authorizer/
	$(GO) test -run '^$$' -bench BenchmarkColdStart -benchtime 1x -count 1 ./handler/
	$(GO) test -run '^$$' -bench BenchmarkPlanProd -benchmem -count 1 ./plan/
	HOOKLINE_BENCH_COMPILE=1 $(GO) test -run '^$$' -bench BenchmarkCompile -benchtime 1x -count 1 -timeout 30m ./plan/
	HOOKLINE_REQUIRE_ENGINE=1 $(GO) test -run '^$$' -bench BenchmarkPortalLoad -benchtime 1x -count 1 -timeout 30m ./portal/

clean:
	rm -rf bin .build

tidy:
	$(GO) mod tidy
