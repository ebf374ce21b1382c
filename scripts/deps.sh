#!/usr/bin/env bash
# Installs what the build and the tests need, with the distribution's package
# manager, when it is missing. Idempotent; safe to run as root on Debian.
set -euo pipefail

need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev) # the race detector needs cgo
command -v make >/dev/null 2>&1 || need+=(make)
command -v git >/dev/null 2>&1 || need+=(git)
command -v curl >/dev/null 2>&1 || need+=(curl)

if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    echo "deps: add /usr/local/go/bin to PATH" >&2
  else
    echo "deps: Go is not installed (https://go.dev/doc/install); the module needs $(sed -n 's/^go //p' go.mod)" >&2
  fi
  exit 1
fi
