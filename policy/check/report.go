package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// Report writes the result in the chosen format. Text output sends unreadable inputs to
// errOut; the machine-readable formats carry them inside the report.
func Report(out, errOut io.Writer, o *Options, res *Result) error {
	// Reports are written as they are made, not built whole: a report of 100,000 findings
	// would otherwise double what a large check holds.
	w := bufio.NewWriterSize(out, 64<<10)
	if err := report(w, errOut, o, res); err != nil {
		return err
	}
	return w.Flush()
}

func report(out, errOut io.Writer, o *Options, res *Result) error {
	switch o.Output {
	case OutputJSON:
		return writeJSON(out, res)
	case OutputJUnit:
		return writeJUnit(out, res)
	case OutputSARIF:
		return writeSARIF(out, o.ToolVersion, res)
	case OutputGitHub:
		return writeGitHub(out, res)
	default:
		return writeText(out, errOut, res)
	}
}

// located is a finding with the file and line it points at.
type located struct {
	policy.Finding
	File string
	Line int
}

func (r *Result) located() []located {
	var out []located
	_ = r.eachLocated(func(l located) error {
		out = append(out, l)
		return nil
	})
	return out
}

// eachLocated calls f with every finding in order, until f fails.
func (r *Result) eachLocated(f func(located) error) error {
	for _, it := range r.Items {
		for _, finding := range it.Findings {
			if err := f(located{Finding: finding, File: it.Doc.Source, Line: it.Doc.LineOf(it.pathPrefix() + finding.Path)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// counts summarises a result.
type counts struct {
	Inputs    int `json:"inputs"`
	Resources int `json:"resources"`
	Denied    int `json:"denied"`
	Warned    int `json:"warned"`
	Denials   int `json:"denials"`
	Warnings  int `json:"warnings"`
	DryRun    int `json:"dryrun"`
	// Exceptions counts the rules conftest exceptions exempted objects from.
	Exceptions int `json:"exceptions"`
	Errors     int `json:"errors"`
	Skipped    int `json:"skipped"`
}

func (r *Result) counts() counts {
	c := counts{Inputs: r.Inputs, Errors: len(r.Errors), Skipped: len(r.Skipped)}
	for _, it := range r.Items {
		if !it.Combined {
			c.Resources++
		}
		denied, warned := false, false
		for _, f := range it.Findings {
			switch f.Action {
			case policy.ActionDeny:
				c.Denials++
				denied = true
			case policy.ActionWarn:
				c.Warnings++
				warned = true
			case policy.ActionException:
				c.Exceptions++
			default:
				c.DryRun++
			}
		}
		switch {
		case it.Combined:
		case denied:
			c.Denied++
		case warned:
			c.Warned++
		}
	}
	return c
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// writeText prints "file:line: Kind ns/name: path: [rule] message" per finding (warnings
// say so before the message), then a summary line; unreadable inputs go to errOut.
func writeText(out, errOut io.Writer, res *Result) error {
	if len(res.Errors) > 0 {
		var e bytes.Buffer
		for _, err := range res.Errors {
			fmt.Fprintf(&e, "error: %v\n", err)
		}
		if _, err := errOut.Write(e.Bytes()); err != nil {
			return err
		}
	}
	err := res.eachLocated(func(l located) error {
		level := ""
		switch l.Action {
		case policy.ActionWarn:
			level = "warning: "
		case policy.ActionDryRun:
			level = "dryrun: "
		case policy.ActionException:
			level = "exception: "
		}
		path := ""
		if l.Path != "" {
			path = l.Path + ": "
		}
		if l.Object.Kind == "" && l.Line == 0 { // on all documents at once (--combine)
			_, err := fmt.Fprintf(out, "%s: %s[%s] %s%s\n", l.File, path, l.Rule, level, l.Message)
			return err
		}
		_, err := fmt.Fprintf(out, "%s:%d: %s: %s[%s] %s%s\n", l.File, l.Line, l.Object, path, l.Rule, level, l.Message)
		return err
	})
	if err != nil {
		return err
	}
	var b bytes.Buffer
	c := res.counts()
	fmt.Fprintf(&b, "checked %s in %s: %d denied (%s), %d with warnings only (%s)",
		plural(c.Resources, "resource", "resources"), plural(c.Inputs, "input", "inputs"),
		c.Denied, plural(c.Denials, "denial", "denials"), c.Warned, plural(c.Warnings, "warning", "warnings"))
	if c.DryRun > 0 {
		fmt.Fprintf(&b, ", %s", plural(c.DryRun, "dry-run finding", "dry-run findings"))
	}
	if c.Exceptions > 0 {
		fmt.Fprintf(&b, ", %s", plural(c.Exceptions, "exception", "exceptions"))
	}
	if c.Errors > 0 {
		fmt.Fprintf(&b, ", %s", plural(c.Errors, "unreadable input or document", "unreadable inputs or documents"))
	}
	if c.Skipped > 0 {
		fmt.Fprintf(&b, "; skipped %s without a .yaml, .yml or .json name", plural(c.Skipped, "file", "files"))
	}
	b.WriteString("\n")
	_, err = out.Write(b.Bytes())
	return err
}

// jsonFinding is a finding in JSON output.
type jsonFinding struct {
	File       string        `json:"file"`
	Line       int           `json:"line"`
	Rule       string        `json:"rule"`
	Action     policy.Action `json:"action"`
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Namespace  string        `json:"namespace,omitempty"`
	Name       string        `json:"name"`
	Path       string        `json:"path"`
	Message    string        `json:"message"`
}

type jsonError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Object  string `json:"object,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// writeJSON writes the report as one JSON document with one finding or error per line:
// valid JSON for tools, readable and greppable for people, and cheap to write.
func writeJSON(out io.Writer, res *Result) error {
	// Report's own writer, or one over out; it keeps the first write error for Flush.
	b := bufio.NewWriterSize(out, 64<<10)
	summary, err := json.Marshal(res.counts())
	if err != nil {
		return err
	}
	_, _ = b.WriteString("{\n  \"summary\": ")
	_, _ = b.Write(summary)
	_, _ = b.WriteString(",\n  \"findings\": [")
	// One value a line: encode into a buffer to drop the newline Encode ends with.
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false) // messages say _<name>._sctp, not _\u003cname\u003e._sctp
	sep := "\n    "
	write := func(v any) error {
		line.Reset()
		if err := enc.Encode(v); err != nil {
			return err
		}
		_, _ = b.WriteString(sep)
		sep = ",\n    "
		_, err := b.Write(bytes.TrimSuffix(line.Bytes(), []byte("\n")))
		return err
	}
	err = res.eachLocated(func(l located) error {
		return write(jsonFinding{
			File: l.File, Line: l.Line, Rule: l.Rule, Action: l.Action,
			APIVersion: l.Object.APIVersion, Kind: l.Object.Kind, Namespace: l.Object.Namespace, Name: l.Object.Name,
			Path: l.Path, Message: l.Message,
		})
	})
	if err != nil {
		return err
	}
	_, _ = b.WriteString("\n  ],\n  \"errors\": [")
	sep = "\n    "
	for _, e := range res.Errors {
		if err := write(jsonError{File: e.Source, Line: e.Line, Object: e.Object, Path: e.Path, Message: e.Err.Error()}); err != nil {
			return err
		}
	}
	_, _ = b.WriteString("\n  ]\n}\n")
	return b.Flush()
}

// JUnit: one testsuite per input file, one testcase per object; denials are failures,
// warnings go to the case's system-out, unreadable inputs are errors.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func writeJUnit(out io.Writer, res *Result) error {
	suites := map[string]*junitSuite{}
	var order []string
	suite := func(file string) *junitSuite {
		if s, ok := suites[file]; ok {
			return s
		}
		s := &junitSuite{Name: file}
		suites[file] = s
		order = append(order, file)
		return s
	}
	for _, it := range res.Items {
		s := suite(it.Doc.Source)
		ref := it.name()
		c := junitCase{Name: ref.String(), Classname: it.Doc.Source}
		var deny, warn []string
		for _, f := range it.Findings {
			line := fmt.Sprintf("%s:%d: %s", it.Doc.Source, it.Doc.LineOf(it.pathPrefix()+f.Path), f.String())
			if f.Action == policy.ActionDeny {
				deny = append(deny, line)
			} else {
				level := "warning"
				if f.Action != policy.ActionWarn {
					level = string(f.Action)
				}
				warn = append(warn, level+": "+line)
			}
		}
		if len(deny) > 0 {
			c.Failure = &junitProblem{Message: fmt.Sprintf("denied: %s", plural(len(deny), "finding", "findings")), Type: "deny", Text: strings.Join(deny, "\n")}
			s.Failures++
		}
		c.SystemOut = strings.Join(warn, "\n")
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, e := range res.Errors {
		s := suite(e.Source)
		s.Tests++
		s.Errors++
		s.Cases = append(s.Cases, junitCase{Name: "read " + e.Source, Classname: e.Source,
			Error: &junitProblem{Message: "unreadable input", Type: "parse", Text: e.Error()}})
	}
	all := junitSuites{Name: "sctpguard check"}
	for _, name := range order {
		s := suites[name]
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Suites = append(all.Suites, *s)
	}
	if _, err := io.WriteString(out, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(out)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(out, "\n")
	return err
}

// escapeData and escapeProperty escape workflow command text as the GitHub Actions
// toolkit does.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// writeGitHub prints workflow commands, so findings show as annotations on the lines.
func writeGitHub(out io.Writer, res *Result) error {
	err := res.eachLocated(func(l located) error {
		level := "error"
		switch l.Action {
		case policy.ActionWarn:
			level = "warning"
		case policy.ActionDryRun, policy.ActionException:
			level = "notice"
		}
		msg := l.Message
		if l.Path != "" {
			msg = l.Path + ": " + msg
		}
		_, err := fmt.Fprintf(out, "::%s file=%s,line=%d,title=%s::%s\n", level, escapeProperty(l.File), l.Line,
			escapeProperty(fmt.Sprintf("[%s] %s", l.Rule, l.Object)), escapeData(msg))
		return err
	})
	if err != nil {
		return err
	}
	for _, e := range res.Errors {
		line := max(e.Line, 1)
		if _, err := fmt.Fprintf(out, "::error file=%s,line=%d,title=%s::%s\n", escapeProperty(e.Source), line, escapeProperty("unreadable input"), escapeData(errorText(e))); err != nil {
			return err
		}
	}
	c := res.counts()
	_, err = fmt.Fprintf(out, "::notice title=sctpguard check::checked %s: %d denied, %d with warnings only, %d unreadable\n",
		plural(c.Resources, "resource", "resources"), c.Denied, c.Warned, c.Errors)
	return err
}

// errorText is an error without its file and line, which annotations carry themselves.
func errorText(e *manifest.Error) string {
	var parts []string
	if e.Object != "" {
		parts = append(parts, e.Object)
	}
	if e.Path != "" {
		parts = append(parts, e.Path)
	}
	parts = append(parts, e.Err.Error())
	return strings.Join(parts, ": ")
}

// writeManifests prints every object as YAML, mutated where --mutate changed it.
func writeManifests(out io.Writer, res *Result) error {
	b := bufio.NewWriterSize(out, 64<<10) // it keeps the first write error for Flush
	for i, it := range res.Items {
		data := it.Mutated
		if data == nil {
			var err error
			if data, err = it.Doc.YAML(); err != nil {
				return err
			}
		}
		if i > 0 {
			_, _ = b.WriteString("---\n")
		}
		_, _ = b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			_, _ = b.WriteString("\n")
		}
	}
	return b.Flush()
}

// ruleIDs lists the distinct rule IDs of a result in order.
func ruleIDs(ls []located) []string {
	seen := map[string]bool{}
	var ids []string
	for _, l := range ls {
		if !seen[l.Rule] {
			seen[l.Rule] = true
			ids = append(ids, l.Rule)
		}
	}
	sort.Strings(ids)
	return ids
}
