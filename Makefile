# hookrun — run jobs in systemd transient units on git push.
# `make help` lists the targets.

GO        ?= go
BIN       ?= bin/hookrun
PREFIX    ?= /usr/local
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   = -s -w -X main.Version=$(VERSION) -X main.SchemaPath=$(PREFIX)/share/hookrun/hooks.schema.json
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 10s
# go test's default 10m is too short for cmd/hookrun's scripts under -race on a loaded 2-core machine
TESTTIMEOUT ?= 30m
# gitmal and ntfy for the demo when HOOKRUN_TEST_GITMAL/NTFY are unset (else from PATH)
PEERS     ?= ../shared/peers

.PHONY: help build man test test-race test-systemd lint nix-check schema bench fuzz demo check install clean

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

build: ## build bin/hookrun and bin/hookrun-hook, the small post-receive program beside it (static: no cgo, which saves ~1.5 ms per hook run)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hookrun
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(dir $(BIN))hookrun-hook ./cmd/hookrun-hook

# pipefail: make test exits with go test's status (testsum's when go test's is 0)
test: SHELL := /bin/bash
test: ## run every test, ending with what was skipped and why (HOOKRUN_REQUIRE_SYSTEMD=1, HOOKRUN_REQUIRE_PEERS=1 make skips failures)
	set -o pipefail; $(GO) test -json -count=1 -timeout $(TESTTIMEOUT) ./... | $(GO) run ./testsum

test-race: ## every test under the race detector
	$(GO) test -race -count=1 -timeout $(TESTTIMEOUT) ./...

test-systemd: ## run the tests that need a real systemd user manager, never skipping them
	HOOKRUN_REQUIRE_SYSTEMD=1 $(GO) test -count=1 ./internal/runner/... ./internal/systemdtest/... ./cmd/hookrun/...

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

nix-check: build ## evaluate the NixOS module (nix/) with real Nix against stubs; hookrun validate --strict its TOML (needs nix-instantiate: apt-get install nix-bin)
	nix/tests/check.sh $(BIN)

schema: ## regenerate schema/hooks.schema.json from the config decoder
	$(GO) test ./internal/config -run TestSchemaInSync -update

bench: ## Go benchmarks of the hot path (see docs/PERFORMANCE.md for the side-by-side hook benchmark)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./cmd/...

fuzz: ## run every fuzz target for FUZZTIME each
	@$(GO) list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

demo: build ## push into a throwaway bare repo: real units, a real gitmal site (bin/demo-site) and real ntfy when found, notifications
	HOOKRUN_TEST_GITMAL="$${HOOKRUN_TEST_GITMAL:-$(wildcard $(PEERS)/gitmal)}" HOOKRUN_TEST_NTFY="$${HOOKRUN_TEST_NTFY:-$(wildcard $(PEERS)/ntfy)}" \
	  $(GO) run ./demo -hookrun $(BIN) -site $(CURDIR)/bin/demo-site

check: lint test ## what CI runs

man: build ## man pages generated from the command table into bin/man
	$(BIN) man bin/man

install: build man ## install hookrun and hookrun-hook into PREFIX/bin, its JSON schema into PREFIX/share/hookrun, man pages into PREFIX/share/man/man1
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hookrun
	install -D -m 0755 $(dir $(BIN))hookrun-hook $(DESTDIR)$(PREFIX)/bin/hookrun-hook
	install -D -m 0644 schema/hooks.schema.json $(DESTDIR)$(PREFIX)/share/hookrun/hooks.schema.json
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 bin/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean: ## remove build output
	rm -rf bin
