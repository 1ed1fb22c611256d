package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// stdin is what a command reads a body from (--body -) and a confirmation
// on; stdinIsTerminal says whether a person is there to confirm. Tests
// replace both.
var (
	stdin           io.Reader = os.Stdin
	stdinIsTerminal           = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
)

// buildVersion is what this binary knows of its own version: the module's
// version and the VCS revision it was built from (runtime/debug).
type buildVersion struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"goVersion"`
}

func readVersion() buildVersion {
	v := buildVersion{Version: "(devel)", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// versionString is the one line hookline version (and --version) prints.
func versionString() string {
	v := readVersion()
	s := "hookline " + v.Version
	if v.Revision != "" {
		s += " (" + v.Revision
		if v.Time != "" {
			s += ", " + v.Time
		}
		if v.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + v.GoVersion
}

func newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print hookline's version and the revision it was built from",
		Long: `version prints the module version and the VCS revision, time and state this
binary was built from (as the Go toolchain recorded them), and the Go version.`,
		Example: `  hookline version
  hookline version --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch output {
			case "json":
				return writeJSON(cmd.OutOrStdout(), readVersion())
			case "table":
				fmt.Fprintln(cmd.OutOrStdout(), versionString())
				return nil
			}
			return &usageError{fmt.Errorf("--output must be table or json, got %q", output)}
		},
	}
	outputFlag(cmd.Flags(), &output, "json: version, revision, time, modified, goVersion")
	return cmd
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
