# callhook — two commands on a fresh machine: `make run` and `make test`.
GO ?= go
# The Go release callhook is built with (go.mod's toolchain line): these
# machines ship an older Go and set GOTOOLCHAIN=local, so it is asked for
# here; the go command fetches it from the module proxy once.
export GOTOOLCHAIN := $(shell sed -n 's/^toolchain //p' go.mod)
FUZZTIME ?= 30s

.PHONY: run demo build test test-postgres unit browser generate check-generated lint vulncheck fuzz bench

run: ## serve on 127.0.0.1:8080 with SQLite at data/callhook.db
	$(GO) run ./cmd/callhook serve

# The demo keeps its simulated channel and alerts in its own database and
# listens next to `make run` (port 8081), with a fixed password for its admin.
DEMO_PASSWORD ?= demo-password
demo: ## serve with simulated calls flowing, on data/demo.db and port 8081
	@addr=$${CALLHOOK_ADDR:-127.0.0.1:8081}; \
	echo "callhook demo: database data/demo.db (your data/callhook.db is untouched)"; \
	echo "sign in at http://$$addr as admin with password $(DEMO_PASSWORD)"; \
	CALLHOOK_DEMO=true CALLHOOK_DB=sqlite://data/demo.db CALLHOOK_ADDR=$$addr \
	  CALLHOOK_ADMIN_PASSWORD='$(DEMO_PASSWORD)' $(GO) run ./cmd/callhook serve

build:
	$(GO) build -o bin/callhook ./cmd/callhook

generate:
	$(GO) tool templ generate

check-generated: ## generated templ code must be committed and current
	$(GO) tool templ generate
	@git diff --exit-code --stat -- '*_templ.go' || (echo "templ output is stale: run 'make generate' and commit"; exit 1)
	@test -z "$$(git status --porcelain -- '*_templ.go')" || (echo "uncommitted templ output:"; git status --porcelain -- '*_templ.go'; exit 1)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || (echo "gofmt needed:"; echo "$$out"; exit 1)
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

vulncheck: ## govulncheck against a database built from the vulndb module
	.ci/vulncheck

browser: ## Chromium and the playwright driver for the browser tests
	.ci/install-browser

test: browser check-generated lint vulncheck ## everything, browser tests included
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) test-postgres

# The store's suite again on PostgreSQL (docs/scale-out.md): the test starts
# a throwaway cluster through .ci/postgres (installing Debian's postgresql
# when missing) unless CALLHOOK_TEST_POSTGRES names a server, and fails if
# none can be started.
test-postgres: ## the store's suite on PostgreSQL, two processes included
	CALLHOOK_TEST_DB=postgres $(GO) test -race -count=1 -timeout 15m ./internal/store/

unit: ## everything but the browser tests, for the edit-test loop
	$(GO) test -count=1 -skip '^TestBrowser' ./...

fuzz: ## every fuzz target for FUZZTIME each (make fuzz FUZZTIME=60s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./cmd/callhook bench
