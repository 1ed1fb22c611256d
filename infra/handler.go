package infra

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// HandlerPackage is the Go package of the Lambda handler, relative to the project.
const HandlerPackage = "./handler"

// HandlerBuildDir is where the handler binary is built, relative to the
// project; git ignores it.
const HandlerBuildDir = ".build/handler"

// HandlerBuildFlags are the go build flags of the handler: reproducible
// (no paths, no VCS stamp, no build id) and small (no symbol tables), with
// aws-lambda-go's RPC mode compiled out (provided.al2023 speaks the Runtime API).
var HandlerBuildFlags = []string{
	"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=",
}

// HandlerBuildEnv is the target environment: Linux on Graviton, no cgo.
var HandlerBuildEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"}

// BuildHandler builds the handler binary into outDir/bootstrap and returns its
// path. It skips the build when the sources and flags hash to the same key as
// the last build; a compile error is returned with the compiler's output.
func BuildHandler(projectDir, outDir string) (string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", outDir, err)
	}
	out := filepath.Join(outDir, "bootstrap")
	key, err := sourceKey(projectDir)
	if err != nil {
		return "", err
	}
	keyFile := out + ".key"
	if prev, err := os.ReadFile(keyFile); err == nil && string(prev) == key {
		if _, err := os.Stat(out); err == nil {
			return out, nil
		}
	}
	// Build to a file of this build's own next to the target and rename it
	// into place: a failed or interrupted build never leaves a half-written
	// bootstrap, and concurrent builds (parallel test packages, two
	// programs) never write the same file.
	f, err := os.CreateTemp(outDir, ".bootstrap-*")
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
	args := append([]string{"build"}, HandlerBuildFlags...)
	args = append(args, "-o", tmp, HandlerPackage)
	cmd := exec.Command("go", args...)
	cmd.Dir = projectDir
	cmd.Env = append(os.Environ(), HandlerBuildEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", HandlerPackage, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("install handler binary: %w", err)
	}
	if err := writeAtomic(keyFile, []byte(key)); err != nil {
		return "", fmt.Errorf("record handler build key: %w", err)
	}
	return out, nil
}

// HandlerArchive builds the handler under projectDir and returns it as a
// Lambda code archive. An AssetArchive of a file is hashed by content, so an
// unchanged handler never shows a diff.
func HandlerArchive(projectDir string) (pulumi.Archive, error) {
	path, err := BuildHandler(projectDir, filepath.Join(projectDir, HandlerBuildDir))
	if err != nil {
		return nil, err
	}
	return pulumi.NewAssetArchive(map[string]any{"bootstrap": pulumi.NewFileAsset(path)}), nil
}

// HandlerZip packs a bootstrap binary the way Lambda wants it, with fixed
// timestamps and modes so equal binaries give byte-identical zips.
func HandlerZip(bootstrap string) ([]byte, error) {
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

// sourceKey hashes what the handler binary depends on inside the module: the
// Go toolchain, the flags, go.mod/go.sum and every non-test Go file (a
// conservative superset of the handler's own packages).
func sourceKey(projectDir string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, strings.Join(HandlerBuildFlags, " "), strings.Join(HandlerBuildEnv, " "))
	var files []string
	err := filepath.WalkDir(projectDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".build", "bin", "node_modules", "testdata":
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
		return "", fmt.Errorf("hash handler sources: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(projectDir, f)
		fmt.Fprintf(h, "%s\n", filepath.ToSlash(rel))
		_, err = io.Copy(h, fh)
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
