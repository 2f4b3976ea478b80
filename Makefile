# The two commands a newcomer needs are `make run` and `make test`.
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test build vet lint fuzz bench services-up services-down clean

## run: start approvald on the embedded default (SQLite + in-process broker, SMS on the console)
run:
	$(GO) run ./cmd/approvald

## test: start throwaway PostgreSQL and Redis (nginx, oauth2-proxy, browsers installed or built when missing), run every check and test, stop them again
test:
	@bash .ci/test

## build: binaries into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## vet / lint: the static checks that `make test` runs too
vet:
	$(GO) vet ./...
lint: vet
	@test -z "$$(gofmt -l cmd internal web migrations)" || { gofmt -l cmd internal web migrations; exit 1; }
	$(GO) run $(STATICCHECK) ./...

## fuzz: run every fuzz target for FUZZEXECS executions each (default 1000000x)
fuzz:
	@FUZZEXECS=$${FUZZEXECS:-1000000x} bash .ci/fuzz

## bench: a reduced load run (1,000 waiting, 200 approvals/s, 10 s; 5 s of OpenID code flows, 2 s of passkey logins, 2 s of Web Push sends) that prints the table; see BENCHMARKS.md
bench:
	@bash .ci/bench

## services-up / services-down: the test databases alone, for running `go test` by hand
services-up:
	@bash .ci/services up && echo "now: . .testenv/env && go test ./..."
services-down:
	@bash .ci/services down

clean:
	rm -rf bin .testenv approvald.db approvald.db-* approvald.db.key
