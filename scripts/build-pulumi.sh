#!/usr/bin/env bash
# Builds the Pulumi CLI into bin/pulumi from the Go module proxy, at the
# version of github.com/pulumi/pulumi/sdk/v3 in go.mod (no second list), with
# the version stamped in (the Automation API refuses an unstamped CLI).
#
# github.com/pulumi/pulumi/pkg/v3 cannot be `go install`ed at a version: its
# go.mod has replace directives. So it is built from a throw-away module that
# requires it and repeats its non-local replaces.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
version=$(cd "$root" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)
stamp="$bin/.pulumi-version"
if [ -x "$bin/pulumi" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if [ -z "${HOOKLINE_BUILD_PULUMI:-}" ] && command -v pulumi >/dev/null 2>&1; then
  echo "using the pulumi on PATH ($(pulumi version 2>/dev/null)); HOOKLINE_BUILD_PULUMI=1 builds $version into bin/ instead"
  exit 0
fi
echo "building the Pulumi CLI $version into bin/ for the engine tests: once, about 5 minutes of compiling on 2 cores (10 on a fresh machine, with downloads; 2.3 GB of memory at peak) ..."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
gomod=$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
cat > go.mod <<MOD
module hookline.local/pulumi-cli

go $(go env GOVERSION | sed 's/^go//')

require (
	github.com/pulumi/pulumi/pkg/v3 $version
	github.com/pulumi/pulumi/sdk/v3 $version
)
MOD
# Repeat pkg's replaces that point at other modules (not its ../sdk).
grep -E '^replace .* => [^.]' "$gomod" >> go.mod || true
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
go mod tidy >/dev/null
mkdir -p "$bin"
go build -o "$bin/pulumi" \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
echo "$version" > "$stamp"
"$bin/pulumi" version
