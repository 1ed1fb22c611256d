// Package build is the one place that knows how the handler binary is built:
// the package, the flags (reproducible and small), the targets (Lambda's
// linux/arm64, or this machine's architecture for the emulator) and the build
// cache that lets an unchanged handler skip the compiler. The program uses it
// to ship the handler, `hookline invoke` to run it locally, and the tests to
// build every binary they run before any deadline starts.
package build

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// HandlerPackage is the Go package of the Lambda handler, relative to the project.
const HandlerPackage = "./handler"

// AuthorizerPackage is the Go package of the edge authorizer (token routes).
const AuthorizerPackage = "./handler/authorizer"

// Dir is where builds land, relative to the project; git ignores it.
const Dir = ".build"

// Flags are the go build flags of the handler: reproducible (no paths, no VCS
// stamp, no build id) and small (no symbol tables), with aws-lambda-go's RPC
// mode compiled out (provided.al2023 speaks the Runtime API).
var Flags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// Target is the platform a binary is built for. Every target is static (no cgo).
type Target struct{ GOOS, GOARCH string }

// Lambda is the platform the functions run on: Linux on Graviton.
var Lambda = Target{GOOS: "linux", GOARCH: "arm64"}

// Emulator is the platform the Lambda Runtime Interface Emulator runs a
// bootstrap on here: Linux on this machine's architecture.
var Emulator = Target{GOOS: "linux", GOARCH: runtime.GOARCH}

// Host is this machine: for tools the tests run (the policy pack, the
// test-double provider).
var Host = Target{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}

// String is GOOS-GOARCH.
func (t Target) String() string { return t.GOOS + "-" + t.GOARCH }

func (t Target) env() []string {
	return []string{"CGO_ENABLED=0", "GOOS=" + t.GOOS, "GOARCH=" + t.GOARCH}
}

// Spec is one binary to build from a package of the module at a project.
type Spec struct {
	// Package is the Go package, relative to the project (./handler).
	Package string
	// Target is the platform; zero is Host.
	Target Target
	// Flags are the go build flags; nil is none.
	Flags []string
}

// TagNoDynamoDB is the build tag of a handler for sources without
// idempotency: it links no DynamoDB client, whose package inits (its
// schemas and endpoint table) every cold start would otherwise pay. Such a
// bootstrap fails closed on a source that has idempotency on: every record
// is retried, with the reason in its log line.
const TagNoDynamoDB = "hookline.nodynamodb"

// Features are the clients a source's configuration needs beyond the ones
// every source uses; each distinct set is one build of the handler.
type Features struct {
	// Idempotency: the source has long-window deduplication (DynamoDB).
	Idempotency bool
}

// Full is the handler with every client: what a source with every feature
// on needs, and what local runs and tests use by default.
var Full = Features{Idempotency: true}

// String names the feature set in build directories ("full", "lean").
func (f Features) String() string {
	if f.Idempotency {
		return "full"
	}
	return "lean"
}

// flags are Flags with the tags that leave out what f does not need.
func (f Features) flags() []string {
	if f.Idempotency {
		return Flags
	}
	out := append([]string(nil), Flags...)
	for i := range out {
		if out[i] == "-tags" && i+1 < len(out) {
			out[i+1] += "," + TagNoDynamoDB
		}
	}
	return out
}

// Handler is the spec of the full handler binary for target.
func Handler(t Target) Spec { return HandlerWith(t, Full) }

// HandlerWith is the spec of the handler binary with features f for target.
func HandlerWith(t Target, f Features) Spec {
	return Spec{Package: HandlerPackage, Target: t, Flags: f.flags()}
}

// HandlerDir is where the program keeps the full handler binary for target,
// relative to the project.
func HandlerDir(t Target) string { return HandlerDirWith(t, Full) }

// HandlerDirWith is where the program keeps the handler binary with
// features f for target, relative to the project.
func HandlerDirWith(t Target, f Features) string {
	if f == Full {
		return filepath.Join(Dir, "handler", t.String())
	}
	return filepath.Join(Dir, "handler-"+f.String(), t.String())
}

// Authorizer is the spec of the edge authorizer binary for target.
func Authorizer(t Target) Spec { return Spec{Package: AuthorizerPackage, Target: t, Flags: Flags} }

// AuthorizerDir is where the program keeps the authorizer binary for target.
func AuthorizerDir(t Target) string { return filepath.Join(Dir, "authorizer", t.String()) }

// Bootstrap builds the handler for target into the project's build dir and
// returns the path of its bootstrap.
func Bootstrap(ctx context.Context, projectDir string, t Target) (string, error) {
	return BootstrapWith(ctx, projectDir, t, Full)
}

// BootstrapWith builds the handler with features f for target and returns
// the path of its bootstrap.
func BootstrapWith(ctx context.Context, projectDir string, t Target, f Features) (string, error) {
	return Binary(ctx, projectDir, HandlerWith(t, f), filepath.Join(projectDir, HandlerDirWith(t, f), "bootstrap"))
}

// AuthorizerBootstrap builds the edge authorizer for target and returns the
// path of its bootstrap.
func AuthorizerBootstrap(ctx context.Context, projectDir string, t Target) (string, error) {
	return Binary(ctx, projectDir, Authorizer(t), filepath.Join(projectDir, AuthorizerDir(t), "bootstrap"))
}

// Binary builds spec into out and returns out. It skips the compiler when the
// module's sources, the toolchain, the flags and the target hash to the same
// key as the build already at out; a compile error is returned with the
// compiler's output. Concurrent builds of one out (parallel test packages,
// two programs) wait for each other, and a failed or interrupted build never
// leaves a half-written binary.
func Binary(ctx context.Context, projectDir string, spec Spec, out string) (string, error) {
	if spec.Target == (Target{}) {
		spec.Target = Host
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Dir(out), err)
	}
	unlock, err := lock(out + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	key, err := sourceKey(projectDir, spec)
	if err != nil {
		return "", err
	}
	keyFile := out + ".key"
	if prev, err := os.ReadFile(keyFile); err == nil && string(prev) == key {
		if _, err := os.Stat(out); err == nil {
			return out, nil
		}
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+"-*")
	if err != nil {
		return "", fmt.Errorf("create build file: %w", err)
	}
	f.Close()
	tmp, err := filepath.Abs(f.Name())
	if err != nil {
		return "", err
	}
	_ = os.Remove(tmp) // go build refuses to overwrite a non-object file
	defer os.Remove(tmp)
	args := append([]string{"build"}, spec.Flags...)
	args = append(args, "-o", tmp, spec.Package)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = projectDir
	cmd.Env = append(os.Environ(), spec.Target.env()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s for %s: %w\n%s", spec.Package, spec.Target, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("install %s: %w", out, err)
	}
	if err := writeAtomic(keyFile, []byte(key)); err != nil {
		return "", fmt.Errorf("record build key of %s: %w", out, err)
	}
	return out, nil
}

// Zip packs a bootstrap binary the way Lambda wants it, with fixed timestamps
// and modes so equal binaries give byte-identical zips.
func Zip(bootstrap string) ([]byte, error) {
	data, err := os.ReadFile(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("read handler binary: %w", err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ProjectDir finds the project root (the directory holding go.mod) at or
// above dir.
func ProjectDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no go.mod at or above " + abs)
		}
	}
}

// sourceKey hashes what a binary of the module depends on: the toolchain, the
// target, the flags, the package, go.mod/go.sum and every non-test Go file of
// the module (a conservative superset of any one package's sources).
func sourceKey(projectDir string, spec Spec) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), spec.Target, spec.Package, strings.Join(spec.Flags, " "))
	var files []string
	err := filepath.WalkDir(projectDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", Dir, "bin", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if (strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go")) || n == "go.mod" || n == "go.sum" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash sources of %s: %w", spec.Package, err)
	}
	sort.Strings(files)
	buf := make([]byte, 32<<10) // one buffer for every file, not one each
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(projectDir, f)
		fmt.Fprintf(h, "%s\n", filepath.ToSlash(rel))
		_, err = io.CopyBuffer(h, struct{ io.Reader }{fh}, buf) // not File.WriteTo, which takes its own buffer
		fh.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeAtomic replaces path with data through a rename.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
