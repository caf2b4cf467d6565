# Planner — run `make help` for the targets.
GO        ?= go
BIN       ?= bin/planner
CGO_ENABLED := 1
export CGO_ENABLED
# mattn/go-sqlite3 compiles FTS5, which the search index needs, only with
# this tag: every go command below carries it.
TAGS      ?= sqlite_fts5

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Regenerate templ components (*_templ.go)
	$(GO) tool templ generate

.PHONY: run
run: generate ## Serve on http://localhost:8080 with the SQLite file planner.db
	$(GO) run -tags $(TAGS) ./cmd/planner serve

.PHONY: build
build: generate ## Build bin/planner
	$(GO) build -tags $(TAGS) -trimpath -o $(BIN) ./cmd/planner

# Redocly's OpenAPI linter, for TestOpenAPIPassesRedocly; used when installed.
REDOCLY_VERSION := 2.77.0
REDOCLY := .tools/redocly/node_modules/.bin/redocly
export PLANNER_REDOCLY ?= $(if $(wildcard $(REDOCLY)),$(abspath $(REDOCLY)))

.PHONY: tools
tools: axe ## Install the pinned npm tools some tests use (Redocly's linter, axe-core) into .tools/ (needs npm)
	@grep -qs '"version": "$(REDOCLY_VERSION)"' .tools/redocly/node_modules/@redocly/cli/package.json || \
		npm install --prefix .tools/redocly --no-audit --no-fund --no-save @redocly/cli@$(REDOCLY_VERSION)

# axe-core, injected into every page by TestPagesAccessibleAndFit
# (handlers/pages_browser_test.go). The variable is computed when a recipe
# runs, so a copy that `make test` has just installed is found.
AXE_VERSION := 4.14.1
AXE := .tools/axe/node_modules/axe-core/axe.min.js
export PLANNER_AXE ?= $(if $(wildcard $(AXE)),$(abspath $(AXE)))

.PHONY: axe
axe:
	@grep -qs '"version": "$(AXE_VERSION)"' .tools/axe/node_modules/axe-core/package.json || \
		npm install --prefix .tools/axe --no-audit --no-fund --no-save axe-core@$(AXE_VERSION)

.PHONY: test
test: generate ## Run every test, browser tests included, with the race detector (installs axe-core when npm is there)
	@command -v npm >/dev/null 2>&1 && $(MAKE) --no-print-directory axe || \
		echo "note: axe-core is not installed (it needs npm; see make tools): the accessibility test skips outside CI"
	PLANNER_AXE="$${PLANNER_AXE:-$$(test -f $(AXE) && echo $(abspath $(AXE)))}" $(GO) test -tags $(TAGS) -race -count=1 ./...

SCREENSHOTS ?= screenshots

.PHONY: screenshots
screenshots: generate ## PNGs of every page at desktop and phone width into SCREENSHOTS (default screenshots/)
	@mkdir -p $(SCREENSHOTS)
	PLANNER_SCREENSHOTS="$(abspath $(SCREENSHOTS))" $(GO) test -tags $(TAGS) -count=1 -run '^TestPageScreenshots$$' ./handlers
	@echo "screenshots in $(SCREENSHOTS)/"

FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s); make test runs their seeds
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		dir=./$$(dirname $${file#./}); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "== $$dir $$target ($(FUZZTIME))"; \
			$(GO) test -tags $(TAGS) -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done

.PHONY: lint
lint: ## gofmt, templ fmt and go vet
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) tool templ fmt -fail .
	$(GO) vet -tags $(TAGS) ./...

BENCHTIME ?= 300ms
BENCHLOAD ?= 5s

# PocketBase, measured side by side by make bench: built from the Go module
# proxy at this version into .tools/ (never part of Planner's module).
POCKETBASE_VERSION := v0.39.11
POCKETBASE := .tools/pocketbase-$(POCKETBASE_VERSION)/base

$(POCKETBASE):
	GOBIN=$(abspath $(dir $(POCKETBASE))) $(GO) install github.com/pocketbase/pocketbase/examples/base@$(POCKETBASE_VERSION)

.PHONY: bench
bench: $(POCKETBASE) ## Go benchmarks, then wrk load runs beside bare Echo, a templ baseline and PocketBase, on SQLite and, with PLANNER_TEST_POSTGRES_URL, PostgreSQL (~10 min; not in test)
	@command -v wrk >/dev/null 2>&1 && command -v haproxy >/dev/null 2>&1 || (apt-get update && apt-get install -y wrk haproxy)
	$(GO) build -tags $(TAGS) -trimpath -o $(BIN) ./cmd/planner
	$(GO) build -tags $(TAGS) -trimpath -o bin/planner-baseline ./cmd/planner-baseline
	$(GO) build -tags $(TAGS) -trimpath -o bin/planner-bench ./cmd/planner-bench
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...
	bin/planner-bench --planner $(BIN) --baseline bin/planner-baseline --pocketbase $(POCKETBASE) --duration $(BENCHLOAD)

.PHONY: clean
clean: ## Remove build output and the development database
	rm -rf bin planner.db planner.db-wal planner.db-shm planner.db.secret planner.db-migrate.lock
