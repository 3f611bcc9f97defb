# sym: the two commands a newcomer runs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin

.PHONY: all build install demo test newcomer-test tidy-check fmt-check check-tools install-provider bench fuzz lint clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F '\t' '{ printf "%-17s %s\n", $$1, $$2 }'

check-tools: ## check for go, terraform, moto_server, the aws provider mirror, git, aws CLI, curl, openssl, jq, chromium
	@scripts/check-tools.sh

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

build: ## build bin/sym and bin/terraform-provider-sym
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/sym ./cmd/sym
	$(GO) build -o $(BIN)/terraform-provider-sym ./cmd/terraform-provider-sym

install: ## put sym on your PATH: go install into GOBIN (default: GOPATH/bin), with a PATH hint
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/sym
	@dir=$$($(GO) env GOBIN); [ -n "$$dir" ] || dir=$$($(GO) env GOPATH)/bin; \
	echo "installed $$dir/sym"; \
	case ":$$PATH:" in *":$$dir:"*) ;; *) echo "note: $$dir is not on your PATH; add it: export PATH=\"$$dir:\$$PATH\"";; esac

demo: check-tools build ## run the whole flow against a local AWS emulator, then clean up
	@scripts/demo.sh

test: check-tools tidy-check fmt-check ## run every test (moto, terraform, sqlite: real parts, no skips)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

fmt-check: ## fail when a Go file is not gofmt'ed, naming it
	@gofmt_out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$gofmt_out" ]; then echo "gofmt needed: $$gofmt_out" >&2; exit 1; fi

tidy-check: ## fail when 'go mod tidy' would change go.mod or go.sum
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result" >&2; $(GO) mod tidy -diff >&2; exit 1; }

newcomer-test: check-tools ## follow README's "Use it with your AWS account" step by step against moto
	$(GO) test -count=1 -timeout 15m -run 'TestNewcomer' ./cmd/sym

install-provider: ## build the Terraform provider into a local filesystem mirror
	@scripts/install-provider.sh

bench: check-tools ## benchmarks against moto, each with its baseline: grant latency, expiry lateness, mass expiry drain, reconcile, removals under 5xx, audit delivery to Kinesis
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./internal/server

FUZZTIME ?= 60s
fuzz: ## run every fuzz target (each func Fuzz* in a _test.go file) for FUZZTIME each (default 60s; make test runs their seed corpora)
	@set -e; for f in $$(grep -l '^func Fuzz' $$(git ls-files '*_test.go')); do \
	  for n in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$n in ./$$(dirname $$f) for $(FUZZTIME)"; \
	    $(GO) test -run='^$$' -fuzz="^$$n\$$" -fuzztime=$(FUZZTIME) ./$$(dirname $$f); \
	  done; \
	done

lint: fmt-check ## gofmt and go vet
	$(GO) vet ./...

clean: ## remove bin/ and the demo's work directory .demo/
	rm -rf $(BIN) .demo
