# callhook — two commands on a fresh machine: `make run` and `make test`.
GO ?= go

.PHONY: run demo build test browser generate check-generated lint bench

run: ## serve on 127.0.0.1:8080 with SQLite at data/callhook.db
	$(GO) run ./cmd/callhook serve

demo: ## serve with simulated calls flowing
	CALLHOOK_DEMO=true $(GO) run ./cmd/callhook serve

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

browser: ## Chromium and the playwright driver for the browser tests
	.ci/install-browser

test: browser check-generated lint ## everything, browser tests included
	$(GO) test -race -count=1 -timeout 20m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./cmd/callhook bench
