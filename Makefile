# sctpguard: make help lists the targets.
#
# Every tool a target needs is built from the Go module proxy at the version pinned below and
# kept under bin/tools, so a fresh clone needs only Go; nothing is installed by hand.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# Build with the Go on this machine; never download a toolchain.
export GOTOOLCHAIN := local

BIN := $(CURDIR)/bin
TOOLS := $(BIN)/tools
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# Pinned tool versions.
GOLANGCI_LINT_VERSION := v2.15.0
CONTROLLER_GEN_VERSION := v0.23.0
CONFTEST_VERSION := v0.71.1
HELM_VERSION := v3.22.0

GOLANGCI_LINT := $(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint
CONTROLLER_GEN := $(TOOLS)/controller-gen-$(CONTROLLER_GEN_VERSION)/controller-gen
CONFTEST := $(TOOLS)/conftest-$(CONFTEST_VERSION)/conftest
HELM := $(TOOLS)/helm-$(HELM_VERSION)/helm

# The test control plane: kube-apiserver, kubectl and etcd built from source (test/controlplane).
KUBERNETES_VERSION := v1.36.3
ETCD_VERSION := v3.6.16
K8S_BIN := $(BIN)/k8s/$(KUBERNETES_VERSION)-etcd-$(ETCD_VERSION)
K8S_LDFLAGS := -s -w $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(p).gitVersion=$(KUBERNETES_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=36 -X $(p).gitTreeState=clean)
# envtest finds kube-apiserver, etcd and kubectl here.
export KUBEBUILDER_ASSETS := $(K8S_BIN)

# How long each fuzz test of `make test` runs (FuzzCheck, FuzzSplit, FuzzHandler).
FUZZTIME ?= 30s
# Benchmark runs per tool in `make bench`.
BENCH_RUNS ?= 5

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
		/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build

.PHONY: build
build: ## Build bin/sctpguard (the Dockerfile runs this very command).
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/sctpguard ./cmd/sctpguard

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code and CRDs from the API types.
	$(CONTROLLER_GEN) object paths=./policy/apis/...
	$(CONTROLLER_GEN) crd paths=./policy/apis/ako/... paths=./policy/apis/serviceapis/... output:crd:artifacts:config=charts/sctpguard/crds
	@# The PolicyReport CRDs are not in crds/ (always installed): a template installs them only
	@# when the cluster lacks them (audit.installCRDs), as Kyverno may have installed them.
	$(CONTROLLER_GEN) crd paths=./policy/apis/wgpolicyk8s/... output:crd:artifacts:config=charts/sctpguard/files/crds

.PHONY: verify-generate
verify-generate: generate ## Fail when generated files are out of date.
	@if [ -n "$$(git status --porcelain -- policy/apis charts/sctpguard/crds charts/sctpguard/files/crds)" ]; then \
		git status --short -- policy/apis charts/sctpguard/crds charts/sctpguard/files/crds; \
		echo "generated files are out of date: run make generate and commit them"; exit 1; fi

##@ Run

.PHONY: demo
demo: build controlplane ## Start a real control plane with sctpguard, apply the examples, and leave a kubeconfig in demo/.
	$(GO) run ./test/demo -sctpguard $(BIN)/sctpguard -dir demo $(DEMO_FLAGS)

.PHONY: check-examples
check-examples: build ## Check the example manifests: the seeds pass, each broken example shows its denial.
	@echo "== examples/seeds (expect: no denial)"
	$(BIN)/sctpguard check -f examples/seeds --ako-values examples/ako/values.yaml
	@for f in examples/broken/*.yaml; do \
		cmd=$$(head -n 1 "$$f" | sed 's/^# sctpguard //'); \
		echo; echo "== $$f (expect: denied)"; echo "\$$ sctpguard $$cmd"; \
		status=0; $(BIN)/sctpguard $$cmd || status=$$?; \
		if [ "$$status" -ne 1 ]; then echo "expected exit code 1, got $$status"; exit 1; fi; \
	done

##@ Test

.PHONY: test
test: vet lint verify-generate unit fuzz test-e2e demo-smoke chart-lint test-chart ## Run every test CI runs.

.PHONY: unit
unit: ## Run the unit and scenario tests with the race detector.
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/e2e)

.PHONY: test-e2e
test-e2e: build controlplane ## End-to-end tests: real kube-apiserver, etcd and kubectl, the sctpguard binary.
	SCTPGUARD_BIN=$(BIN)/sctpguard $(GO) test -count=1 -v ./test/e2e/...

.PHONY: demo-smoke
demo-smoke: build controlplane ## Run make demo's walk-through once and stop, so the README's first command keeps working.
	$(GO) run ./test/demo -sctpguard $(BIN)/sctpguard -dir $$(mktemp -d) -exit > /dev/null

# The chart's tests are a module of their own (test/chart): cert-manager's API types and its
# CRDs would otherwise bring cert-manager's ~190 requirements into sctpguard's go.mod.
CHART := charts/sctpguard

.PHONY: chart-lint
chart-lint: $(HELM) ## helm lint and helm template the chart, with cert-manager and with self-managed certificates.
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) --set certManager.enabled=false
	$(HELM) template sctpguard $(CHART) --namespace sctpguard > /dev/null
	$(HELM) template sctpguard $(CHART) --namespace sctpguard --set certManager.enabled=false > /dev/null

.PHONY: test-chart
test-chart: build controlplane $(HELM) ## Chart tests: rendering vs webhook.Configurations, schema, server-side apply, RBAC vs the audit log, helm test.
	cd test/chart && HELM=$(HELM) SCTPGUARD_BIN=$(BIN)/sctpguard $(GO) test -count=1 -v ./...

# fuzz-target fuzzes $(1) of package ./$(2) for FUZZTIME. Go 1.26's fuzzing coordinator can
# fail a run that found nothing with a bare "context deadline exceeded" when -fuzztime ends
# while a worker is still busy (go.dev/issue/75804, fixed in Go 1.27): that failure, when no
# failing input was written, is said as such and passes; any other failure fails.
define fuzz-target
	@echo "$(GO) test -run '^$$' -fuzz '^$(1)$$' -fuzztime $(FUZZTIME) ./$(2)" && \
	out=$$(mktemp) && corpus=$$(ls $(2)/testdata/fuzz/$(1) 2>/dev/null | wc -l) && rc=0 && \
	$(GO) test -run '^$$' -fuzz '^$(1)$$' -fuzztime $(FUZZTIME) ./$(2) 2>&1 | tee $$out || rc=$$? ; \
	if [ $$rc -ne 0 ] && grep -qx '    context deadline exceeded' $$out && ! grep -q 'Failing input written' $$out && \
		[ "$$(ls $(2)/testdata/fuzz/$(1) 2>/dev/null | wc -l)" = "$$corpus" ]; then \
		echo "$(1): Go's fuzzing coordinator ended the run with a bare 'context deadline exceeded' and wrote no failing input (go.dev/issue/75804, fixed in Go 1.27): not a finding"; rc=0; \
	fi; \
	rm -f $$out; exit $$rc
endef

.PHONY: fuzz
fuzz: ## Fuzz the YAML-to-findings path, the manifest splitter against kubectl's, the fast YAML path against yaml.v3, and the admission handler, for FUZZTIME each.
	$(call fuzz-target,FuzzCheck,policy/check)
	$(call fuzz-target,FuzzSplit,policy/manifest)
	$(call fuzz-target,FuzzFastYAML,policy/manifest)
	$(call fuzz-target,FuzzHandler,webhook)

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...
	cd test/chart && $(GO) vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...
	cd test/chart && $(GOLANGCI_LINT) run ./...

.PHONY: bench
bench: build controlplane $(CONFTEST) ## Benchmarks: Go benchmarks; check vs parse floor vs conftest; largest inputs vs kubectl's reader; webhook load; translator sync; audit.
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...
	$(GO) build -o $(BIN)/parsefloor ./test/bench/parsefloor
	$(GO) run ./test/bench/checkbench -runs $(BENCH_RUNS) -sctpguard $(BIN)/sctpguard \
		-parsefloor $(BIN)/parsefloor -conftest $(CONFTEST)
	$(GO) build -o $(BIN)/loadbench ./test/bench/loadbench
	$(BIN)/loadbench
	$(GO) run ./test/bench/syncbench -services 1000
	$(GO) run ./test/bench/auditbench -services 10000 -gateways 1000

##@ Tools

$(GOLANGCI_LINT):
	GOBIN=$(dir $@) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(CONTROLLER_GEN):
	GOBIN=$(dir $@) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

$(CONFTEST):
	GOBIN=$(dir $@) $(GO) install github.com/open-policy-agent/conftest@$(CONFTEST_VERSION)

$(HELM):
	GOBIN=$(dir $@) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(K8S_BIN)/kube-apiserver: test/controlplane/go.mod test/controlplane/go.sum
	cd test/controlplane && GOFLAGS=-mod=readonly $(GO) build -trimpath -ldflags "$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(K8S_BIN)/kubectl: test/controlplane/go.mod test/controlplane/go.sum
	cd test/controlplane && GOFLAGS=-mod=readonly $(GO) build -trimpath -ldflags "$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kubectl

$(K8S_BIN)/etcd: test/controlplane/etcd/go.mod test/controlplane/etcd/go.sum
	cd test/controlplane/etcd && GOFLAGS=-mod=readonly $(GO) build -trimpath \
		-ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$(ETCD_VERSION)" -o $@ go.etcd.io/etcd/server/v3

.PHONY: controlplane
controlplane: $(K8S_BIN)/kube-apiserver $(K8S_BIN)/kubectl $(K8S_BIN)/etcd ## Build the test control plane (kube-apiserver, etcd, kubectl) from source.

.PHONY: tools
tools: $(GOLANGCI_LINT) $(CONTROLLER_GEN) $(CONFTEST) $(HELM) controlplane ## Build the pinned tools and the test control plane into bin/.

.PHONY: clean
clean: ## Remove build outputs (keeps the pinned tools).
	rm -f $(BIN)/sctpguard $(BIN)/parsefloor $(BIN)/loadbench
