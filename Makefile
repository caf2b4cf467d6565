# Planner — run `make help` for the targets.
GO        ?= go
BIN       ?= bin/planner
CGO_ENABLED := 1
export CGO_ENABLED

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Regenerate templ components (*_templ.go)
	$(GO) tool templ generate

.PHONY: run
run: generate ## Serve on http://localhost:8080 with the SQLite file planner.db
	$(GO) run ./cmd/planner serve

.PHONY: build
build: generate ## Build bin/planner
	$(GO) build -trimpath -o $(BIN) ./cmd/planner

.PHONY: test
test: generate ## Run every test, browser tests included, with the race detector
	$(GO) test -race -count=1 ./...

FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s); make test runs their seeds
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		dir=./$$(dirname $${file#./}); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "== $$dir $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done

.PHONY: lint
lint: ## gofmt, templ fmt and go vet
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) tool templ fmt -fail .
	$(GO) vet ./...

.PHONY: bench
bench: ## Run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: clean
clean: ## Remove build output and the development database
	rm -rf bin planner.db planner.db-wal planner.db-shm planner.db.secret
