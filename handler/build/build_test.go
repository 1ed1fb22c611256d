package build_test

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/hookline/hookline/handler/build"
)

// TestHandlerBuildIsDeterministic: two builds of the handler give
// byte-identical binaries and archives, so an unchanged handler never shows
// a diff on preview.
func TestHandlerBuildIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the handler twice")
	}
	a, err := build.Binary(context.Background(), project(t), build.Handler(build.Lambda), filepath.Join(t.TempDir(), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := build.Binary(context.Background(), project(t), build.Handler(build.Lambda), filepath.Join(t.TempDir(), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ba) == 0 || !bytes.Equal(ba, bb) {
		t.Fatalf("two builds differ (%d vs %d bytes)", len(ba), len(bb))
	}
	za, err := build.Zip(a)
	if err != nil {
		t.Fatal(err)
	}
	zb, _ := build.Zip(b)
	if !bytes.Equal(za, zb) {
		t.Error("two zips of equal binaries differ")
	}

	// Pulumi's own archive hash, the one a preview compares.
	hash := func(p string) string {
		asset, err := resource.NewPathAsset(p)
		if err != nil {
			t.Fatal(err)
		}
		arch, err := resource.NewAssetArchive(map[string]any{"bootstrap": asset})
		if err != nil {
			t.Fatal(err)
		}
		return arch.Hash
	}
	if hash(a) != hash(b) {
		t.Error("Pulumi hashes the two archives differently")
	}

	f, err := elf.Open(a)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("bootstrap is for %v, want arm64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("bootstrap is dynamically linked (cgo?)")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("bootstrap is not stripped (-s -w)")
	}
}

// TestHandlerBuildSkipsUnchangedSources: the second build of the same
// sources into the same place reuses the binary.
func TestHandlerBuildSkipsUnchangedSources(t *testing.T) {
	dir := t.TempDir()
	proj := tinyProject(t, "package main\n\nfunc main() {}\n")
	p, err := build.Binary(context.Background(), proj, build.Handler(build.Lambda), filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(p)
	// Replace the binary with a marker: a skipped build leaves it alone.
	if err := os.WriteFile(p, []byte("marker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := build.Binary(context.Background(), proj, build.Handler(build.Lambda), filepath.Join(dir, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "marker" || st1.Size() == 0 {
		t.Fatal("an unchanged handler was rebuilt")
	}
	// A source change rebuilds.
	if err := os.WriteFile(filepath.Join(proj, "handler", "main.go"), []byte("package main\n\nfunc main() { println() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := build.Binary(context.Background(), proj, build.Handler(build.Lambda), filepath.Join(dir, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) == "marker" {
		t.Fatal("a changed handler was not rebuilt")
	}
}

// TestHandlerBuildReportsCompilerErrors: the compiler's message reaches the user.
func TestHandlerBuildReportsCompilerErrors(t *testing.T) {
	proj := tinyProject(t, "package main\n\nfunc main() { undefinedThing() }\n")
	_, err := build.Binary(context.Background(), proj, build.Handler(build.Lambda), filepath.Join(t.TempDir(), "bootstrap"))
	if err == nil || !strings.Contains(err.Error(), "undefined: undefinedThing") {
		t.Fatalf("got %v", err)
	}
}

func tinyProject(t *testing.T, main string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "handler"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/tiny\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "handler", "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestConcurrentHandlerBuilds: parallel builds into one place (test packages
// run in parallel, programs run side by side) all succeed.
func TestConcurrentHandlerBuilds(t *testing.T) {
	proj := tinyProject(t, "package main\n\nfunc main() {}\n")
	dir := t.TempDir()
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := build.Binary(context.Background(), proj, build.Handler(build.Lambda), filepath.Join(dir, "bootstrap"))
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "bootstrap bootstrap.key bootstrap.lock" {
		t.Errorf("leftovers in the build dir: %v", names)
	}
}

// project is the root of this module.
func project(t *testing.T) string {
	t.Helper()
	dir, err := build.ProjectDir(".")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
