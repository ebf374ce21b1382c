# Sampan build. `make run` is the main job, `make test` the test suite.
SHELL := /bin/bash
GO ?= go
K8S_VERSION := $(shell $(GO) list -m -f '{{.Version}}' k8s.io/api | sed 's/^v0\./v1./')
K8S_MAJOR := $(word 1,$(subst ., ,$(patsubst v%,%,$(K8S_VERSION))))
K8S_MINOR := $(word 2,$(subst ., ,$(patsubst v%,%,$(K8S_VERSION))))
VERSION_PKGS := k8s.io/component-base/version k8s.io/client-go/pkg/version
LDFLAGS := -s -w $(foreach p,$(VERSION_PKGS),-X $(p).gitVersion=$(K8S_VERSION) -X $(p).gitMajor=$(K8S_MAJOR) -X $(p).gitMinor=$(K8S_MINOR) -X $(p).gitTreeState=clean)
export LDFLAGS

.PHONY: build run test test-unit deps fmt vet clean

build: bin/sampan

bin/sampan: $(shell find cmd internal -name '*.go' -not -name '*_test.go') go.mod go.sum
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/sampan

# The main job: a control plane with the seed workload applied.
run: build
	scripts/run.sh

# Everything CI runs: dependencies, static checks, unit and integration tests (race detector on).
test:
	scripts/test.sh

deps:
	scripts/deps.sh

fmt:
	gofmt -w cmd internal test

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
