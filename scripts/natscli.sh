#!/usr/bin/env bash
# natscli (the `nats` command, for `nats bench` in bench/connectors/nats_scale.py),
# built once with `go install` from the Go module proxy into
#
#   $TORVYN_TOOLS_DIR/go-bin/nats
#
# with the Go caches of scripts/setup.sh. Only `make bench-nats` needs it, so
# `make test` does not build it. Prints the binary's path on stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$here/env.sh"

version=v0.5.0
go_bin="$TORVYN_TOOLS_DIR/go-bin"
stamp="$go_bin/.natscli-$version"
if [ ! -f "$stamp" ] || [ ! -x "$go_bin/nats" ]; then
  go_cmd="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go_cmd" ] || { echo "natscli.sh: go not found (natscli is built with Go); install it and re-run" >&2; exit 1; }
  mkdir -p "$go_bin"
  echo "natscli.sh: building natscli $version with go install (once)" >&2
  GOBIN="$go_bin" GOPATH="$TORVYN_CACHE_DIR/go" GOMODCACHE="$TORVYN_CACHE_DIR/go/mod" \
    GOCACHE="$TORVYN_CACHE_DIR/go/build" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-modcacherw \
    "$go_cmd" install -trimpath "github.com/nats-io/natscli/nats@$version" >&2
  rm -f "$go_bin"/.natscli-*
  touch "$stamp"
fi
echo "$go_bin/nats"
