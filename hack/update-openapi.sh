#!/usr/bin/env bash
# Regenerates internal/apiserver/openapi/generated/zz_generated.openapi.go, the
# OpenAPI definitions of every API type Sampan serves, with the openapi-gen
# tool pinned in go.mod. Run from anywhere; the output only depends on go.mod.
#
#   hack/update-openapi.sh           rewrite the file
#   hack/update-openapi.sh --verify  fail if the committed file is stale
set -euo pipefail

verify=false
case "${1:-}" in
--verify) verify=true ;;
"") ;;
*)
	echo "usage: $0 [--verify]" >&2
	exit 2
	;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

out_dir="internal/apiserver/openapi/generated"
out_pkg="github.com/sampan-dev/sampan/${out_dir}"
out_file="zz_generated.openapi.go"

# Every package whose types appear in a served group version, and the packages
# they reference (batch/v1 Jobs embed scheduling/v1alpha3 types): a referenced
# package left out would be named by its Go path instead of its model name.
packages=(
	k8s.io/api/apps/v1
	k8s.io/api/authentication/v1
	k8s.io/api/authorization/v1
	k8s.io/api/autoscaling/v1
	k8s.io/api/autoscaling/v2
	k8s.io/api/batch/v1
	k8s.io/api/certificates/v1
	k8s.io/api/coordination/v1
	k8s.io/api/core/v1
	k8s.io/api/discovery/v1
	k8s.io/api/events/v1
	k8s.io/api/networking/v1
	k8s.io/api/policy/v1
	k8s.io/api/rbac/v1
	k8s.io/api/scheduling/v1alpha3
	k8s.io/api/storage/v1
	k8s.io/apimachinery/pkg/api/resource
	k8s.io/apimachinery/pkg/apis/meta/v1
	k8s.io/apimachinery/pkg/runtime
	k8s.io/apimachinery/pkg/util/intstr
	k8s.io/apimachinery/pkg/version
)

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# API rule violations of upstream types are upstream's to fix: collect them in
# a scratch report instead of failing on them.
go tool openapi-gen \
	--output-dir "${tmp}" \
	--output-pkg "${out_pkg}" \
	--output-file "${out_file}" \
	--report-filename "${tmp}/violations.report" \
	"${packages[@]}"

if "${verify}"; then
	if ! diff -q "${tmp}/${out_file}" "${out_dir}/${out_file}" >/dev/null 2>&1; then
		echo "${out_dir}/${out_file} is stale: run hack/update-openapi.sh" >&2
		exit 1
	fi
	exit 0
fi

mkdir -p "${out_dir}"
cp "${tmp}/${out_file}" "${out_dir}/${out_file}"
