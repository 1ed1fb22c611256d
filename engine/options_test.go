package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/engine"
)

// bare is the options of a stack in a fresh file:// backend, with no
// program run (tags, listing and config only need the Pulumi CLI).
func bare(t *testing.T, stack string) engine.Options {
	t.Helper()
	requireEngine(t)
	return engine.Options{ProjectDir: projectDir, Stack: stack, StateDir: t.TempDir(), Passphrase: "test-only"}
}

// brokenBackend is o with a file:// backend that cannot be read: its
// directory is a regular file, so the CLI cannot open the state (a
// permission bit would not do: the tests may run as root). It has a
// workspace directory of its own: a stack's workspace records its backend.
func brokenBackend(t *testing.T, o engine.Options) engine.Options {
	t.Helper()
	f := filepath.Join(t.TempDir(), "state-is-a-file")
	if err := os.WriteFile(f, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.BackendURL, o.StateDir = "file://"+f, t.TempDir()
	return o
}

func shortCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// TestStackTagsTellNoStackFromFailure: reading a stack's tags tells three
// answers apart by what the Pulumi CLI returns — a stack without the tag
// ("" and no error), a stack the backend does not have (ErrNoStack: the
// CLI exits with its ExitStackNotFound code, "no stack named … found"), and
// a backend that cannot be read (an error that is not ErrNoStack). The
// engine used to answer "" and no error for all three, so a portal read an
// unreachable backend as "this stack has no owner".
func TestStackTagsTellNoStackFromFailure(t *testing.T) {
	o := bare(t, "pay-dev")
	st, err := engine.Open(shortCtx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetTag(shortCtx(t), "hookline:team", "pay"); err != nil {
		t.Fatal(err)
	}
	missing := o
	missing.Stack = "pay-nope"
	broken := brokenBackend(t, o)

	for _, tc := range []struct {
		name    string
		o       engine.Options
		key     string
		want    string
		noStack bool // the error must wrap ErrNoStack
		fails   bool // the error must be some other error
	}{
		{name: "tag set", o: o, key: "hookline:team", want: "pay"},
		{name: "tag unset", o: o, key: "hookline:deployed", want: ""},
		{name: "no such stack", o: missing, key: "hookline:team", noStack: true},
		{name: "unreadable backend", o: broken, key: "hookline:team", fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				switch {
				case tc.noStack && !errors.Is(err, engine.ErrNoStack):
					t.Errorf("%s: %v, want ErrNoStack", what, err)
				case tc.fails && (err == nil || errors.Is(err, engine.ErrNoStack)):
					t.Errorf("%s: %v, want an error other than ErrNoStack", what, err)
				case !tc.noStack && !tc.fails && err != nil:
					t.Errorf("%s: %v", what, err)
				}
			}
			v, err := engine.StackTag(shortCtx(t), tc.o, tc.key)
			check("StackTag", err)
			if err == nil && v != tc.want {
				t.Errorf("StackTag = %q, want %q", v, tc.want)
			}
			tags, err := engine.StackTags(shortCtx(t), tc.o)
			check("StackTags", err)
			if err == nil && tags[tc.key] != tc.want {
				t.Errorf("StackTags = %v, want %s=%q", tags, tc.key, tc.want)
			}
			if tc.fails && err != nil && !strings.Contains(err.Error(), "not a directory") {
				t.Errorf("the backend's failure is not named: %v", err)
			}
			if tc.noStack || tc.fails {
				check("SetStackTag", engine.SetStackTag(shortCtx(t), tc.o, "hookline:team", "ops"))
			}
		})
	}
	if v, err := st.Tag(shortCtx(t), "hookline:team"); err != nil || v != "pay" {
		t.Errorf("Stack.Tag = %q, %v", v, err)
	}
	if v, err := st.Tag(shortCtx(t), "hookline:previewed"); err != nil || v != "" {
		t.Errorf("Stack.Tag of an unset tag = %q, %v", v, err)
	}
	if _, err := engine.List(shortCtx(t), broken); err == nil {
		t.Error("List of an unreadable backend: no error")
	}
	if _, err := engine.Open(shortCtx(t), broken); err == nil {
		t.Error("Open on an unreadable backend: no error")
	}
}

// TestOptions: the program, the project and the secrets provider are
// options; unset, they are hookline's (infra.Program, project hookline, a
// passphrase).
func TestOptions(t *testing.T) {
	t.Run("program and project", func(t *testing.T) {
		o := bare(t, "other-dev")
		o.Project = "elsewhere"
		o.Program = func(ctx *pulumi.Context) error {
			ctx.Export("greeting", pulumi.String("hello from "+ctx.Project()))
			return nil
		}
		st, err := engine.Open(shortCtx(t), o)
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Up(shortCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Outputs["greeting"].Value; got != "hello from elsewhere" {
			t.Errorf("the program's output: %v", got)
		}
		// A file:// backend keeps a stack under its project's name.
		if _, err := os.Stat(filepath.Join(o.StateDir, ".pulumi", "stacks", "elsewhere", "other-dev.json")); err != nil {
			t.Errorf("the stack is not kept under project elsewhere: %v", err)
		}
	})
	t.Run("the default program's options need the default program", func(t *testing.T) {
		o := bare(t, "other-dev")
		o.Program = func(*pulumi.Context) error { return nil }
		o.Transformations = []pulumi.ResourceTransformation{func(*pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult { return nil }}
		if _, err := engine.Open(shortCtx(t), o); err == nil || !strings.Contains(err.Error(), "default program") {
			t.Errorf("Program with Transformations: %v", err)
		}
	})
	t.Run("secrets provider", func(t *testing.T) {
		o := bare(t, "pay-dev")
		o.Passphrase = ""
		if _, err := engine.Open(shortCtx(t), o); err == nil || !strings.Contains(err.Error(), "passphrase") {
			t.Errorf("the passphrase provider without a passphrase: %v", err)
		}
		// Another provider needs no passphrase, and reaches the CLI as
		// given (which names this one unknown).
		o.SecretsProvider = "nosuchkms://key"
		if _, err := engine.Open(shortCtx(t), o); err == nil || !strings.Contains(err.Error(), "unknown secrets provider type 'nosuchkms'") {
			t.Errorf("secrets provider nosuchkms://key: %v", err)
		}
	})
}
