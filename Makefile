# sym: the two commands a newcomer runs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin

.PHONY: all build demo test check-tools install-provider bench lint fmt clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

check-tools: ## check that go, terraform, moto_server and the aws provider mirror are here
	@scripts/check-tools.sh

build: ## build bin/sym and bin/terraform-provider-sym
	$(GO) build -o $(BIN)/sym ./cmd/sym
	$(GO) build -o $(BIN)/terraform-provider-sym ./cmd/terraform-provider-sym

demo: check-tools build ## run the whole flow against a local AWS emulator, then clean up
	@scripts/demo.sh

test: check-tools ## run every test (moto, terraform, sqlite: real parts, no skips)
	@gofmt_out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$gofmt_out" ]; then echo "gofmt needed: $$gofmt_out" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

install-provider: ## build the Terraform provider into a local filesystem mirror
	@scripts/install-provider.sh

bench: check-tools ## benchmarks against moto: grant latency, AWS calls per grant, de-escalation lateness
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./internal/server

lint: ## gofmt and go vet
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet ./...

clean:
	rm -rf $(BIN) .demo
