#!/usr/bin/env bash
# Installs the pinned tools that check the Kubernetes deployment (the Helm chart, the
# CI workflow), once, into the cache ${XDG_CACHE_HOME:-$HOME/.cache}/taskstream/:
#
#   scripts/k8s-toolchain.sh tools     helm, kubeconform and actionlint (go install)
#   scripts/k8s-toolchain.sh schemas   Kubernetes JSON schemas (the kubernetes-validate
#                                      wheel from PyPI), the Dapr CRDs (from the Dapr
#                                      module) and the Strimzi CRDs (generated with
#                                      io.strimzi:crd-generator from Maven Central;
#                                      needs a JDK 21 or newer)
#   scripts/k8s-toolchain.sh server    kube-apiserver and etcd, built from the Go module
#                                      proxy (the first build takes several minutes
#                                      and about 2 GB of memory)
#   scripts/k8s-toolchain.sh all       all of the above (the default)
#   scripts/k8s-toolchain.sh paths     print the install paths, install nothing
#
# Each tool gets a `.complete` marker when it is whole; a second run only checks
# the markers. The last lines on stdout are `NAME=PATH`, for `eval` or `source`.
#
# Cache layout (under $TASKSTREAM_CACHE_DIR):
#   k8s-tools/helm-<ver>/helm, kubeconform-<ver>/kubeconform, actionlint-<ver>/actionlint
#   k8s-tools/kubernetes-<ver>/kube-apiserver    etcd-<ver>/etcd
#   k8s-tools/kubernetes-schemas-<ver>/<k8s version>-standalone-strict/*.json
#   k8s-tools/dapr-crds-<ver>/{crds/*.yaml,schemas/*.json}   strimzi-crds-<ver>/(the same)
#   go/{mod,build,path}   shared with scripts/toolchain.sh (GOMODCACHE, GOCACHE, GOPATH)
#   go/src/<module>       writable copies of modules whose replace directives are
#                         rewritten, while they build
#   m2/                   Maven's local repository
#
# Environment: TASKSTREAM_HELM_VERSION, TASKSTREAM_KUBECONFORM_VERSION,
# TASKSTREAM_ACTIONLINT_VERSION, TASKSTREAM_KUBERNETES_VERSION, TASKSTREAM_ETCD_VERSION,
# TASKSTREAM_KUBERNETES_VALIDATE_VERSION, TASKSTREAM_STRIMZI_VERSION,
# TASKSTREAM_STRIMZI_CRD_GENERATOR_VERSION,
# TASKSTREAM_DAPR_VERSION (override the pins); JAVA_HOME (a JDK 21+ for Strimzi).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

HELM_VERSION="${TASKSTREAM_HELM_VERSION:-3.22.0}"
KUBECONFORM_VERSION="${TASKSTREAM_KUBECONFORM_VERSION:-0.8.0}"
ACTIONLINT_VERSION="${TASKSTREAM_ACTIONLINT_VERSION:-1.7.12}"
KUBERNETES_VERSION="${TASKSTREAM_KUBERNETES_VERSION:-1.37.2}"
ETCD_VERSION="${TASKSTREAM_ETCD_VERSION:-3.7.3}"
KUBERNETES_VALIDATE_VERSION="${TASKSTREAM_KUBERNETES_VALIDATE_VERSION:-1.37.0}"
# The Strimzi API model (io.strimzi:api) and the CRD generator that writes its CRDs.
STRIMZI_VERSION="${TASKSTREAM_STRIMZI_VERSION:-1.2.0}"
STRIMZI_CRD_GENERATOR_VERSION="${TASKSTREAM_STRIMZI_CRD_GENERATOR_VERSION:-1.2.0}"
# The Dapr release whose CRDs are used: the one scripts/toolchain.sh builds.
DAPR_VERSION="${TASKSTREAM_DAPR_VERSION:-1.16.5}"

TOOLS_HOME="$TASKSTREAM_CACHE_DIR/k8s-tools"
GO_HOME="$TASKSTREAM_CACHE_DIR/go"
HELM_HOME="$TOOLS_HOME/helm-$HELM_VERSION"
KUBECONFORM_HOME="$TOOLS_HOME/kubeconform-$KUBECONFORM_VERSION"
ACTIONLINT_HOME="$TOOLS_HOME/actionlint-$ACTIONLINT_VERSION"
KUBERNETES_HOME="$TOOLS_HOME/kubernetes-$KUBERNETES_VERSION"
ETCD_HOME="$TOOLS_HOME/etcd-$ETCD_VERSION"
SCHEMAS_HOME="$TOOLS_HOME/kubernetes-schemas-$KUBERNETES_VALIDATE_VERSION"
DAPR_CRDS_HOME="$TOOLS_HOME/dapr-crds-$DAPR_VERSION"
STRIMZI_CRDS_HOME="$TOOLS_HOME/strimzi-crds-$STRIMZI_VERSION"

# Runs a go command with the cache dirs under $GO_HOME (shared with the Dapr build), the
# installed Go, and no workspace (k8s.io/kubernetes ships a go.work for its staging folders).
go_env() {
    have go || die "go not found: install Go 1.26 or newer"
    env GOPATH="$GO_HOME/path" GOMODCACHE="$GO_HOME/mod" GOCACHE="$GO_HOME/build" \
        GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=0 "$@"
}

# Prints the directory of a module downloaded into the module cache.
go_module_dir() {
    local dir
    dir="$(cd / && go_env go mod download -json "$1" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [[ -n "$dir" && -d "$dir" ]] || die "go mod download $1 failed"
    printf '%s\n' "$dir"
}

# Copies a downloaded module to a writable build folder and prints its path.
go_module_copy() {
    local module="$1" name="$2" src build
    src="$(go_module_dir "$module")"
    build="$GO_HOME/src/$name"
    rm -rf -- "$build"
    mkdir -p -- "$GO_HOME/src"
    cp -R -- "$src" "$build"
    chmod -R u+w -- "$build"
    printf '%s\n' "$build"
}

is_complete() { [[ -f "$1/.complete" ]]; }

# Moves a side folder into place once its contents are whole.
finish() {
    touch "$1.partial/.complete"
    rm -rf -- "$1"
    mv -- "$1.partial" "$1"
}

# go_install HOME PACKAGE VERSION BINARY: `go install PACKAGE@vVERSION` into HOME.
go_install() {
    local home="$1" package="$2" version="$3" binary="$4" start
    is_complete "$home" && return 0
    log "building $binary $version (go install $package@v$version)"
    start="$(_ts_now)"
    rm -rf -- "$home.partial"
    mkdir -p -- "$home.partial"
    (cd / && go_env GOBIN="$home.partial" go install -trimpath -ldflags "-s -w $5" \
        "$package@v$version")
    [[ -x "$home.partial/$binary" ]] || die "go install $package did not produce $binary"
    finish "$home"
    log "built $binary $version in $(elapsed_since "$start")"
}

# As helm's Makefile does: the version, and the Kubernetes version that `helm template`
# and `helm lint` assume (that of the client-go it is built with, v0.X -> 1.X).
install_helm() {
    is_complete "$HELM_HOME" && return 0
    local minor flags="-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
    minor="$(sed -n 's|^[[:space:]]*k8s\.io/client-go v0\.\([0-9]*\)\..*|\1|p' \
        "$(go_module_dir "helm.sh/helm/v3@v$HELM_VERSION")/go.mod")"
    [[ -n "$minor" ]] || die "no k8s.io/client-go in helm's go.mod"
    for package in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
        flags+=" -X $package.k8sVersionMajor=1 -X $package.k8sVersionMinor=$minor"
    done
    go_install "$HELM_HOME" helm.sh/helm/v3/cmd/helm "$HELM_VERSION" helm "$flags"
}

install_kubeconform() {
    go_install "$KUBECONFORM_HOME" github.com/yannh/kubeconform/cmd/kubeconform \
        "$KUBECONFORM_VERSION" kubeconform ""
}

install_actionlint() {
    go_install "$ACTIONLINT_HOME" github.com/rhysd/actionlint/cmd/actionlint \
        "$ACTIONLINT_VERSION" actionlint \
        "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"
}

# kube-apiserver from k8s.io/kubernetes: its go.mod replaces the k8s.io/* staging
# modules with folders that the module zip does not hold, so each replacement is
# pointed at the published module of the same release (v0.X.Y for v1.X.Y).
install_kube_apiserver() {
    is_complete "$KUBERNETES_HOME" && return 0
    local build start staging_version="v0.${KUBERNETES_VERSION#1.}" ldflags module
    log "fetching k8s.io/kubernetes@v$KUBERNETES_VERSION from the Go module proxy"
    build="$(go_module_copy "k8s.io/kubernetes@v$KUBERNETES_VERSION" "kubernetes-$KUBERNETES_VERSION")"
    local edits=()
    while read -r module; do
        edits+=(-replace "$module=$module@$staging_version")
    done < <(sed -n 's|^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*$|\1|p' "$build/go.mod")
    ((${#edits[@]} > 0)) || die "no staging replacements found in k8s.io/kubernetes go.mod"
    (cd -- "$build" && go_env go mod edit "${edits[@]}")
    ldflags="-s -w"
    local v="k8s.io/component-base/version"
    ldflags+=" -X $v.gitVersion=v$KUBERNETES_VERSION -X $v.gitTreeState=clean"
    ldflags+=" -X $v.gitMajor=${KUBERNETES_VERSION%%.*}"
    ldflags+=" -X $v.gitMinor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")"
    log "building kube-apiserver $KUBERNETES_VERSION (several minutes the first time)"
    start="$(_ts_now)"
    rm -rf -- "$KUBERNETES_HOME.partial"
    mkdir -p -- "$KUBERNETES_HOME.partial"
    # -mod=mod: the replaced modules add their checksums to the copy's go.sum.
    (cd -- "$build" && go_env go build -mod=mod -trimpath -ldflags "$ldflags" \
        -o "$KUBERNETES_HOME.partial/" ./cmd/kube-apiserver)
    check_version "$KUBERNETES_HOME.partial/kube-apiserver" "v$KUBERNETES_VERSION"
    finish "$KUBERNETES_HOME"
    rm -rf -- "$build"
    log "built kube-apiserver $KUBERNETES_VERSION in $(elapsed_since "$start")"
}

# check_version BINARY VERSION: dies unless BINARY runs and its --version names VERSION.
# The output is read whole, then matched: under pipefail, `BINARY --version | grep -q`
# fails when grep exits before BINARY has written its last line (it dies of SIGPIPE):
# etcd writes four, and on a busy machine one check in ten failed so.
check_version() {
    local output
    output="$("$1" --version 2>&1)" || true
    [[ "$output" == *"$2"* ]] ||
        die "the built ${1##*/} does not run or reports another version: $output"
}

# etcd from go.etcd.io/etcd/server/v3: its go.mod replaces its sibling modules
# with folders outside the module, so the replacements are dropped (the required
# versions are the ones released with it).
install_etcd() {
    is_complete "$ETCD_HOME" && return 0
    local build start module
    log "fetching go.etcd.io/etcd/server/v3@v$ETCD_VERSION from the Go module proxy"
    build="$(go_module_copy "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" "etcd-$ETCD_VERSION")"
    local edits=()
    while read -r module; do
        edits+=(-dropreplace "$module")
    done < <(sed -n 's|^[[:space:]]*\(go\.etcd\.io/[a-z0-9/.-]*\) => \.\./.*$|\1|p' "$build/go.mod")
    ((${#edits[@]} == 0)) || (cd -- "$build" && go_env go mod edit "${edits[@]}")
    log "building etcd $ETCD_VERSION"
    start="$(_ts_now)"
    rm -rf -- "$ETCD_HOME.partial"
    mkdir -p -- "$ETCD_HOME.partial"
    (cd -- "$build" && go_env go build -mod=mod -trimpath -ldflags "-s -w" \
        -o "$ETCD_HOME.partial/etcd" .)
    check_version "$ETCD_HOME.partial/etcd" "$ETCD_VERSION"
    finish "$ETCD_HOME"
    rm -rf -- "$build"
    log "built etcd $ETCD_VERSION in $(elapsed_since "$start")"
}

# --- schemas and CRDs ------------------------------------------------------------

# The Python of the project environment (the schema converter reads YAML).
project_python() {
    [[ -x "$TASKSTREAM_ROOT/.venv/bin/python" ]] || ensure_env
    printf '%s\n' "$TASKSTREAM_ROOT/.venv/bin/python"
}

# Kubernetes object schemas from the kubernetes-validate wheel (PyPI), made standalone.
install_kubernetes_schemas() {
    is_complete "$SCHEMAS_HOME" && return 0
    local wheel="$TOOLS_HOME/.kubernetes-validate-$KUBERNETES_VALIDATE_VERSION" python src
    python="$(project_python)"
    [[ -n "${UV:-}" ]] || ensure_uv
    log "fetching kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI"
    rm -rf -- "$wheel" "$SCHEMAS_HOME.partial"
    "$UV" pip install --quiet --python "$python" --no-deps --target "$wheel" \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    src="$wheel/kubernetes_validate/kubernetes-json-schema/v$KUBERNETES_VALIDATE_VERSION-local-strict"
    [[ -d "$src" ]] || die "kubernetes-validate $KUBERNETES_VALIDATE_VERSION has no $(basename -- "$src")"
    "$python" "$TASKSTREAM_ROOT/scripts/k8s_schemas.py" kubernetes "$src" "$SCHEMAS_HOME.partial"
    finish "$SCHEMAS_HOME"
    rm -rf -- "$wheel"
}

# The Dapr CRDs of the Dapr release that scripts/toolchain.sh builds, from its module.
install_dapr_crds() {
    is_complete "$DAPR_CRDS_HOME" && return 0
    local src
    src="$(go_module_dir "github.com/dapr/dapr@v$DAPR_VERSION")/charts/dapr/crds"
    [[ -d "$src" ]] || die "the Dapr module has no charts/dapr/crds"
    rm -rf -- "$DAPR_CRDS_HOME.partial"
    mkdir -p -- "$DAPR_CRDS_HOME.partial/crds"
    cp -- "$src"/*.yaml "$DAPR_CRDS_HOME.partial/crds/"
    chmod u+w -- "$DAPR_CRDS_HOME.partial/crds/"*.yaml
    "$(project_python)" "$TASKSTREAM_ROOT/scripts/k8s_schemas.py" crds \
        "$DAPR_CRDS_HOME.partial/schemas" "$DAPR_CRDS_HOME.partial/crds/"*.yaml
    finish "$DAPR_CRDS_HOME"
}

# Prints the major version of the Java at $1, or nothing.
java_major() {
    "$1" -XshowSettings:properties -version 2>&1 |
        sed -n 's/^[[:space:]]*java\.specification\.version = \([0-9]*\).*/\1/p'
}

# Prints a `java` of release 21 or newer: $JAVA_HOME, the one on PATH, or one of the
# JDKs installed side by side (Debian's /usr/lib/jvm, /usr/java, /opt, macOS).
find_java21() {
    local candidate major
    for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" \
        /usr/lib/jvm/*/bin/java /usr/java/*/bin/java /opt/*/bin/java /opt/java/*/bin/java \
        /Library/Java/JavaVirtualMachines/*/Contents/Home/bin/java; do
        [[ -n "$candidate" && -x "$candidate" ]] || continue
        major="$(java_major "$candidate")"
        if [[ -n "$major" ]] && ((major >= 21)); then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

strimzi_pom() {
    cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by taskstream scripts/k8s-toolchain.sh: the Strimzi CRD generator and API model. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>taskstream.local</groupId>
  <artifactId>strimzi-crds</artifactId>
  <version>$STRIMZI_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId><version>$STRIMZI_CRD_GENERATOR_VERSION</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId><version>$STRIMZI_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

# The Strimzi CRDs the chart uses, generated from the API model classes of the
# Strimzi release by its CRD generator (both from Maven Central).
install_strimzi_crds() {
    is_complete "$STRIMZI_CRDS_HOME" && return 0
    local java home="$STRIMZI_CRDS_HOME.partial" model="io.strimzi.api.kafka.model"
    java="$(find_java21)" || {
        apt_install openjdk-21-jdk-headless || apt_install openjdk-25-jdk-headless
        java="$(find_java21)" || die "the Strimzi CRD generator needs Java 21 or newer; set JAVA_HOME"
    }
    have mvn || apt_install maven
    log "generating the Strimzi $STRIMZI_VERSION CRDs with $java"
    rm -rf -- "$home"
    mkdir -p -- "$home/crds"
    strimzi_pom >"$home/pom.xml"
    mvn -B -q -Dstyle.color=never -f "$home/pom.xml" \
        -Dmaven.repo.local="$TASKSTREAM_CACHE_DIR/m2" \
        dependency:copy-dependencies -DexcludeTransitive=true \
        -DoutputDirectory="$home/libs" 2>&1 |
        sed -e $'s/\033\\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2
    "$java" -cp "$home/libs/*" io.strimzi.crdgenerator.CrdGenerator --yaml \
        --api-versions v1 --storage-version v1 \
        "$model.kafka.Kafka=$home/crds/kafkas.yaml" \
        "$model.nodepool.KafkaNodePool=$home/crds/kafkanodepools.yaml" \
        "$model.topic.KafkaTopic=$home/crds/kafkatopics.yaml" >&2
    "$(project_python)" "$TASKSTREAM_ROOT/scripts/k8s_schemas.py" crds \
        "$home/schemas" "$home/crds/"*.yaml
    rm -rf -- "$home/libs"
    finish "$STRIMZI_CRDS_HOME"
}

# --- main ------------------------------------------------------------------------

print_paths() {
    printf 'HELM=%s\nKUBECONFORM=%s\nACTIONLINT=%s\n' \
        "$HELM_HOME/helm" "$KUBECONFORM_HOME/kubeconform" "$ACTIONLINT_HOME/actionlint"
    printf 'KUBE_APISERVER=%s\nETCD=%s\n' "$KUBERNETES_HOME/kube-apiserver" "$ETCD_HOME/etcd"
    printf 'KUBERNETES_SCHEMAS=%s\nDAPR_CRDS=%s\nSTRIMZI_CRDS=%s\n' \
        "$SCHEMAS_HOME" "$DAPR_CRDS_HOME" "$STRIMZI_CRDS_HOME"
}

main() {
    local what="${1:-all}" start
    start="$(_ts_now)"
    case "$what" in
        tools)
            with_lock "$TOOLS_HOME" helm install_helm
            with_lock "$TOOLS_HOME" kubeconform install_kubeconform
            with_lock "$TOOLS_HOME" actionlint install_actionlint
            ;;
        schemas)
            with_lock "$TOOLS_HOME" kubernetes-schemas install_kubernetes_schemas
            with_lock "$TOOLS_HOME" dapr-crds install_dapr_crds
            with_lock "$TOOLS_HOME" strimzi-crds install_strimzi_crds
            ;;
        server)
            # The tests make the API server's service-account keys with openssl.
            have openssl || apt_install openssl
            with_lock "$TOOLS_HOME" etcd install_etcd
            with_lock "$TOOLS_HOME" kube-apiserver install_kube_apiserver
            ;;
        all)
            main tools >/dev/null
            main schemas >/dev/null
            main server >/dev/null
            ;;
        paths) ;;
        -h | --help | help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            return 0
            ;;
        *) die "usage: $0 tools|schemas|server|all|paths" ;;
    esac
    [[ "$what" == paths ]] || log "k8s toolchain $what: ready ($(elapsed_since "$start"))"
    print_paths
}

main "$@"
