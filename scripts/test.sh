#!/usr/bin/env bash
# The whole test suite: static checks, then unit and integration tests with the
# race detector. Slow end-to-end suites run last.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
scripts/deps.sh

echo "== gofmt"
unformatted=$(gofmt -l cmd internal test 2>/dev/null || true)
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== build"
make --no-print-directory build

echo "== go test -race"
# The e2e tests exec the built binary (SAMPAN_BIN).
SAMPAN_BIN="$PWD/bin/sampan" go test -race -count=1 -timeout 20m ./...
