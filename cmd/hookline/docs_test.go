package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookline/hookline/internal/testing/harness"
)

// The docs' checks: README.md and docs/*.md promise links that resolve and
// commands that exist. Each check is a function over the page's text, so
// the tests below can also show that it fails on a broken page.

// docPages are README.md and every page under docs/, relative to the
// project root.
func docPages(t *testing.T, root string) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no docs/*.md pages")
	}
	rel := []string{"README.md"}
	for _, p := range pages {
		r, _ := filepath.Rel(root, p)
		rel = append(rel, filepath.ToSlash(r))
	}
	return rel
}

// mdBlock is a fenced code block: its info string and its lines.
type mdBlock struct {
	lang string
	text string
}

// splitFences returns the page's prose, with fenced code blocks blanked out
// (so a link or code span inside one is not read), and the blocks.
func splitFences(page string) (prose string, blocks []mdBlock) {
	var b strings.Builder
	var cur *mdBlock
	for _, line := range strings.SplitAfter(page, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if cur == nil {
				cur = &mdBlock{lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))}
			} else {
				blocks = append(blocks, *cur)
				cur = nil
			}
			b.WriteString("\n")
			continue
		}
		if cur != nil {
			cur.text += line
			b.WriteString("\n")
			continue
		}
		b.WriteString(line)
	}
	return b.String(), blocks
}

var (
	codeSpan = regexp.MustCompile("`[^`]*`")
	// mdLink is an inline link or image target: ](target) or ](target "title").
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t#]*$`)
	// linkText is a link inside a heading: only its text counts for the slug.
	linkText = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// slug is GitHub's anchor for a heading: lower case, letters, digits,
// hyphens and underscores kept, spaces made hyphens, everything else
// (backticks, colons, parentheses, …) dropped.
func slug(h string) string {
	h = linkText.ReplaceAllString(h, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// anchors are the anchors GitHub gives a page's headings (a repeated
// heading gets -1, -2, …).
func anchors(page string) map[string]bool {
	prose, _ := splitFences(page)
	seen := map[string]int{}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(prose, -1) {
		s := slug(m[1])
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// brokenLinks lists every relative link of the page at rel (relative to
// root) whose file does not exist, or whose #anchor names no heading of
// its target. read returns a page's text by its path relative to root.
func brokenLinks(root, rel, page string, read func(string) (string, error)) []string {
	prose, _ := splitFences(page)
	prose = codeSpan.ReplaceAllString(prose, "")
	var broken []string
	for _, m := range mdLink.FindAllStringSubmatch(prose, -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		path, anchor, _ := strings.Cut(target, "#")
		file := rel
		if path != "" {
			file = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(rel), path)))
			if strings.HasPrefix(file, "../") {
				broken = append(broken, target+": outside the repository")
				continue
			}
			if _, err := os.Stat(filepath.Join(root, file)); err != nil {
				broken = append(broken, target+": no such file "+file)
				continue
			}
		}
		if anchor == "" {
			continue
		}
		if !strings.HasSuffix(file, ".md") {
			broken = append(broken, target+": an anchor into a file that is not a page")
			continue
		}
		text, err := read(file)
		if err != nil {
			broken = append(broken, target+": "+err.Error())
			continue
		}
		if !anchors(text)[anchor] {
			broken = append(broken, fmt.Sprintf("%s: %s has no heading #%s", target, file, anchor))
		}
	}
	return broken
}

// TestDocsLinksResolve: every relative link in README.md and docs/*.md
// names a file that exists, and every #anchor a heading of its page.
func TestDocsLinksResolve(t *testing.T) {
	root := harness.ProjectDir(t)
	read := func(rel string) (string, error) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		return string(b), err
	}
	links := 0
	for _, rel := range docPages(t, root) {
		page, err := read(rel)
		if err != nil {
			t.Fatal(err)
		}
		prose, _ := splitFences(page)
		links += len(mdLink.FindAllString(codeSpan.ReplaceAllString(prose, ""), -1))
		for _, b := range brokenLinks(root, rel, page, read) {
			t.Errorf("%s: broken link %s", rel, b)
		}
	}
	if links < 50 {
		t.Errorf("only %d links found in the docs: is the link pattern still right?", links)
	}
}

// TestDocsLinkCheckFailsOnABrokenLink: the link check catches a missing
// file, a missing anchor in another page and in the page itself, and
// accepts GitHub's slugs of headings with code and punctuation.
func TestDocsLinkCheckFailsOnABrokenLink(t *testing.T) {
	root := harness.ProjectDir(t)
	pages := map[string]string{
		"docs/a.md": "# A\n\n## The contract on an HTTP API (`hookline:ingress: http`)\n\n## Twice\n\n## Twice\n",
	}
	read := func(rel string) (string, error) {
		if p, ok := pages[rel]; ok {
			return p, nil
		}
		b, err := os.ReadFile(filepath.Join(root, rel))
		return string(b), err
	}
	for _, tc := range []struct {
		name, page string
		broken     int
	}{
		{"good links", "[x](configuration.md#each-source) [y](../README.md) [z](#a) ![p](portal-apply.png) [w](https://example.com/x)", 0},
		{"a missing file", "[x](nothere.md)", 1},
		{"a missing anchor", "[x](configuration.md#no-such-heading)", 1},
		{"a missing anchor in the page", "[x](#nowhere)", 1},
		{"slugs with code and repeats", "[x](#the-contract-on-an-http-api-hooklineingress-http) [y](#twice-1)", 0},
		{"a link in code is not a link", "`[x](nothere.md)`\n\n```sh\n[y](nothere.md)\n```\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := "# A\n\n## The contract on an HTTP API (`hookline:ingress: http`)\n\n## Twice\n\n## Twice\n\n" + tc.page
			pages["docs/a.md"] = page
			// docs/a.md does not exist on disk; a link to "#…" in it reads the page itself.
			if got := brokenLinks(root, "docs/a.md", page, read); len(got) != tc.broken {
				t.Errorf("got %d broken (%v), want %d", len(got), got, tc.broken)
			}
		})
	}
}

// shellWords splits a shell line into words, keeping quoted text together
// and dropping a # comment; &&, ||, ;, | and parentheses become words of
// their own so they end a command.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(line[i+1:], c)
			if end < 0 {
				end = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 1
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			return words
		case c == '&' || c == '|' || c == ';' || c == '(' || c == ')':
			flush()
			words = append(words, string(c))
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words
}

// invocation is one hookline (or make) command line found in the docs.
type invocation struct {
	where   string   // page and what it came from
	tool    string   // "hookline" or "make"
	args    []string // the words after the tool
	example bool     // from a code block: a command to run, whose files must exist
}

// separator ends a command within a line.
func separator(w string) bool { return w == "&" || w == "|" || w == ";" || w == "(" || w == ")" }

// invocations finds hookline and make commands in words: hookline,
// bin/hookline, go run ./cmd/hookline, make.
func invocations(where string, words []string) []invocation {
	var out []invocation
	for i := 0; i < len(words); i++ {
		tool, start := "", 0
		switch {
		case words[i] == "hookline" || strings.HasSuffix(words[i], "/hookline") && !strings.Contains(words[i], "cmd/"):
			tool, start = "hookline", i+1
		case words[i] == "go" && i+2 < len(words) && words[i+1] == "run" && strings.TrimSuffix(words[i+2], "/") == "./cmd/hookline":
			tool, start = "hookline", i+3
		case words[i] == "make":
			tool, start = "make", i+1
		default:
			continue
		}
		end := start
		for end < len(words) && !separator(words[end]) {
			end++
		}
		out = append(out, invocation{where: where, tool: tool, args: words[start:end]})
		i = end
	}
	return out
}

// docInvocations are the commands of the page's shell code blocks (sh,
// bash, shell, console), lines joined at a trailing backslash, and of its
// code spans that start with "hookline " or "make ".
func docInvocations(rel, page string) []invocation {
	prose, blocks := splitFences(page)
	var out []invocation
	for _, b := range blocks {
		if !slices.Contains([]string{"sh", "bash", "shell", "console"}, b.lang) {
			continue
		}
		text := strings.ReplaceAll(b.text, "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
			for _, inv := range invocations(rel+": "+line, shellWords(line)) {
				inv.example = true
				out = append(out, inv)
			}
		}
	}
	for _, span := range codeSpan.FindAllString(prose, -1) {
		s := strings.Join(strings.Fields(strings.Trim(span, "`")), " ")
		if !strings.HasPrefix(s, "hookline ") && !strings.HasPrefix(s, "make ") {
			continue
		}
		// [--flag f] marks an optional flag in prose; the brackets are not shell.
		s = strings.NewReplacer("[", "", "]", "").Replace(s)
		out = append(out, invocations(rel+": `"+s+"`", shellWords(s))...)
	}
	return out
}

// placeholder is a word the docs write for a value: <command>, <token>, ….
func placeholder(w string) bool { return strings.HasPrefix(w, "<") || w == "…" }

// fileFlags are the flags whose value is a file the docs' readers need;
// examples must name one that the repository ships.
var fileFlags = map[string]bool{"body": true, "policy-config": true}

// checkHookline walks the command tree along args: every command a word
// names exists, every --flag exists on the command reached (or is
// inherited), positional arguments are ones the command accepts, and a
// --body or --policy-config file exists under projectDir (when checkFiles:
// in examples, not in a synopsis such as [--policy-config f]). It returns
// what is wrong.
func checkHookline(root *cobra.Command, projectDir string, args []string, checkFiles bool) []string {
	var problems []string
	cmd := root
	ready := func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		c.InitDefaultVersionFlag()
	}
	ready(cmd)
	var positional []string
	for i := 0; i < len(args); i++ {
		w := args[i]
		if w == "--" {
			break
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			f := cmd.Flags().Lookup(name)
			if !strings.HasPrefix(w, "--") {
				if len(name) != 1 {
					problems = append(problems, fmt.Sprintf("%s: %s is not a flag (a long flag takes --)", cmd.CommandPath(), w))
					continue
				}
				f = cmd.Flags().ShorthandLookup(name)
			}
			if f == nil {
				f = cmd.InheritedFlags().Lookup(name)
			}
			if f == nil {
				problems = append(problems, fmt.Sprintf("%s has no flag %s", cmd.CommandPath(), w))
				if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
					i++ // its value, most likely: not a positional argument
				}
				continue
			}
			if !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
				i++
				value, hasValue = args[i], true
			}
			if checkFiles && hasValue && fileFlags[f.Name] && value != "-" && !placeholder(value) && !strings.ContainsAny(value, "$…") {
				if _, err := os.Stat(filepath.Join(projectDir, value)); err != nil {
					problems = append(problems, fmt.Sprintf("%s --%s %s: the repository ships no such file", cmd.CommandPath(), f.Name, value))
				}
			}
			continue
		}
		if placeholder(w) {
			positional = nil
			break
		}
		if len(positional) == 0 {
			if sub := findSub(cmd, w); sub != nil {
				cmd = sub
				ready(cmd)
				continue
			}
			if cmd.HasAvailableSubCommands() && cmd.Name() != "help" {
				problems = append(problems, fmt.Sprintf("%s has no command %q", cmd.CommandPath(), w))
				return problems
			}
		}
		positional = append(positional, w)
	}
	if cmd.Name() == "help" {
		// help <command>: the arguments are a command path.
		c := root
		for _, w := range positional {
			if c = findSub(c, w); c == nil {
				problems = append(problems, fmt.Sprintf("hookline help: no command %q", strings.Join(positional, " ")))
				break
			}
		}
	} else if cmd == root && len(positional) == 0 && !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-") || placeholder(a) }) {
		problems = append(problems, "hookline without a command")
	} else if err := cmd.ValidateArgs(positional); err != nil {
		problems = append(problems, fmt.Sprintf("%s %s: %v", cmd.CommandPath(), strings.Join(positional, " "), err))
	}
	return problems
}

// findSub is c's subcommand called (or aliased) name.
func findSub(c *cobra.Command, name string) *cobra.Command {
	for _, s := range c.Commands() {
		if s.Name() == name || s.HasAlias(name) {
			return s
		}
	}
	return nil
}

// hooklineRoot is the command tree as the binary sees it, with cobra's
// help and completion commands, which it adds when it runs.
func hooklineRoot() *cobra.Command {
	root := newRoot()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}

// makeTargets are the Makefile's targets.
func makeTargets(t *testing.T, projectDir string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(projectDir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+):`).FindAllStringSubmatch(string(b), -1) {
		targets[m[1]] = true
	}
	return targets
}

// checkMake: every target named exists (VAR=value words are variables).
func checkMake(targets map[string]bool, args []string) []string {
	var problems []string
	for _, w := range args {
		if strings.HasPrefix(w, "-") || strings.Contains(w, "=") {
			continue
		}
		if !targets[w] {
			problems = append(problems, fmt.Sprintf("the Makefile has no target %q", w))
		}
	}
	return problems
}

// TestDocsCommandsExist: every hookline command and flag the docs show
// (in shell code blocks, and in code spans that start with "hookline "),
// as hookline, bin/hookline or go run ./cmd/hookline, exists in the CLI;
// every file given to --body or --policy-config is shipped; every make
// target exists.
func TestDocsCommandsExist(t *testing.T) {
	root := harness.ProjectDir(t)
	targets := makeTargets(t, root)
	seen := map[string]int{}
	for _, rel := range docPages(t, root) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, inv := range docInvocations(rel, string(b)) {
			var problems []string
			if inv.tool == "make" {
				problems = checkMake(targets, inv.args)
			} else {
				problems = checkHookline(hooklineRoot(), root, inv.args, inv.example)
				if len(inv.args) > 0 {
					seen[inv.args[0]]++
				}
			}
			for _, p := range problems {
				t.Errorf("%s\n\t%s", inv.where, p)
			}
		}
	}
	// The docs show every command; if one is no longer found, the parser
	// broke, not the docs.
	for _, c := range []string{"plan", "invoke", "send", "redrive", "cost", "portal"} {
		if seen[c] == 0 {
			t.Errorf("no hookline %s found in the docs' commands: is the parser still right?", c)
		}
	}
}

// TestDocsCommandCheckFailsOnAnUnknownFlag: the command check refuses an
// unknown command, an unknown flag, a flag of another command, a stray
// argument and an unshipped body, and accepts what the CLI takes.
func TestDocsCommandCheckFailsOnAnUnknownFlag(t *testing.T) {
	root := harness.ProjectDir(t)
	for _, tc := range []struct {
		line     string
		problems int
	}{
		{"go run ./cmd/hookline plan --stack prod --output json", 0},
		{"hookline redrive --stack prod --source payments --group cus_1 --group cus_2 -y", 0},
		{"hookline portal --offline", 0},
		{"hookline portal --offline=false --addr 127.0.0.1:9090", 0},
		{"hookline help redrive", 0},
		{"hookline completion bash", 0},
		{"hookline <command> --help", 0},
		{"hookline version --output json", 0},
		{"hookline invoke --stack dev --source payments --body examples/stripe-event.json", 0},
		{"hookline plan --stak prod", 1},
		{"hookline plan --capacity", 1},
		{"hookline deploy --stack dev", 1},
		{"hookline help deploy", 1},
		{"hookline plan prod", 1},
		{"hookline invoke --stack dev --source payments --body event.json", 1},
		{"bin/hookline cost --stack prod --rps 5 --capcity", 1},
	} {
		t.Run(tc.line, func(t *testing.T) {
			invs := invocations("test", shellWords(tc.line))
			if len(invs) != 1 {
				t.Fatalf("found %d invocations, want 1", len(invs))
			}
			if got := checkHookline(hooklineRoot(), root, invs[0].args, true); len(got) != tc.problems {
				t.Errorf("got %d problems %v, want %d", len(got), got, tc.problems)
			}
		})
	}
	targets := makeTargets(t, root)
	if got := checkMake(targets, []string{"plan", "STACK=prod"}); len(got) != 0 {
		t.Errorf("make plan STACK=prod: %v", got)
	}
	if got := checkMake(targets, []string{"deploy"}); len(got) != 1 {
		t.Errorf("make deploy: got %v, want one problem", got)
	}
}

// TestCLIDocListsEveryFlag: docs/cli.md's command table has a row for every
// command, and each row lists exactly the command's flags, so a flag added
// to the CLI and forgotten in the reference fails too.
func TestCLIDocListsEveryFlag(t *testing.T) {
	root := harness.ProjectDir(t)
	b, err := os.ReadFile(filepath.Join(root, "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z]+(?: [a-z]+)*)` \\| (.*?) \\|")
	flag := regexp.MustCompile(`--[a-z][a-z-]*`)
	rows := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		rows[m[1]] = m[2]
	}
	// Every command that runs has a row, a subcommand under its path
	// (archive search); a command that only groups others has none.
	var commands []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.HasSubCommands() {
				walk(sub)
				continue
			}
			commands = append(commands, sub)
		}
	}
	walk(newRoot())
	for _, cmd := range commands {
		name := strings.TrimPrefix(cmd.CommandPath(), "hookline ")
		flags, ok := rows[name]
		if !ok {
			t.Errorf("docs/cli.md's command table has no row for %s", name)
			continue
		}
		listed := map[string]bool{}
		for _, f := range flag.FindAllString(flags, -1) {
			listed[strings.TrimPrefix(f, "--")] = true
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !listed[f.Name] {
				t.Errorf("docs/cli.md: %s's row lacks --%s", name, f.Name)
			}
			delete(listed, f.Name)
		})
		for f := range listed {
			t.Errorf("docs/cli.md: %s's row lists --%s, which %s does not have", name, f, name)
		}
	}
}
