package integrations

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// repo is the repository root.
const repo = "../.."

// buildDir holds the binary built for the tests; TestMain removes it.
var buildDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// built is the sctpguard built from this checkout, once for the package's tests.
var built = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sctpguard-integrations")
	if err != nil {
		return "", err
	}
	buildDir = dir
	bin := filepath.Join(dir, "sctpguard")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/sctpguard")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build sctpguard: %w\n%s", err, out)
	}
	return bin, nil
})

// binary returns the sctpguard binary: $SCTPGUARD_BIN, or one built from this checkout.
func binary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SCTPGUARD_BIN"); bin != "" {
		return bin
	}
	bin, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// action is what the test reads of action.yml.
type action struct {
	Inputs map[string]struct {
		Default string `json:"default"`
	} `json:"inputs"`
	Outputs map[string]struct {
		Value string `json:"value"`
	} `json:"outputs"`
	Runs struct {
		Using string `json:"using"`
		Steps []step `json:"steps"`
	} `json:"runs"`
}

type step struct {
	ID    string            `json:"id"`
	Uses  string            `json:"uses"`
	Shell string            `json:"shell"`
	Env   map[string]string `json:"env"`
	Run   string            `json:"run"`
	With  map[string]string `json:"with"`
}

var (
	expression = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)
	semver     = `v\d+\.\d+\.\d+`
	pinned     = regexp.MustCompile(`^[\w.-]+/[\w./-]+@` + semver + `$`)
)

// runAction runs the action's shell steps as a runner would (bash -eo pipefail, with
// GITHUB_OUTPUT and GITHUB_PATH, the inputs and the earlier steps' outputs in their env), in
// dir, with sctpguard on PATH instead of the install step. It returns the outputs of each step
// and the exit code of the first step that fails (0 when none does).
func runAction(t *testing.T, a *action, bin, dir string, with map[string]string) (map[string]map[string]string, int) {
	t.Helper()
	inputs := map[string]string{}
	for name, in := range a.Inputs {
		inputs[name] = in.Default
	}
	for k, v := range with {
		inputs[k] = v
	}
	outputs := map[string]map[string]string{}
	eval := func(s string) string {
		return expression.ReplaceAllStringFunc(s, func(m string) string {
			e := strings.TrimSpace(expression.FindStringSubmatch(m)[1])
			if name, ok := strings.CutPrefix(e, "inputs."); ok {
				return inputs[name]
			}
			var id, out string
			if parts := strings.Split(e, "."); len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs" {
				id, out = parts[1], parts[3]
				return outputs[id][out]
			}
			t.Fatalf("expression %q is not one the test evaluates", e)
			return ""
		})
	}
	path := filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, s := range a.Runs.Steps {
		if s.Uses != "" || s.ID == "install" {
			continue // the actions run on GitHub; the install step is replaced by the local binary
		}
		outFile := filepath.Join(t.TempDir(), "output")
		if err := os.WriteFile(outFile, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+path, "GITHUB_OUTPUT="+outFile, "GITHUB_PATH="+filepath.Join(t.TempDir(), "path"))
		for k, v := range s.Env {
			cmd.Env = append(cmd.Env, k+"="+eval(v))
		}
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		err := cmd.Run()
		outputs[s.ID] = map[string]string{}
		f, _ := os.ReadFile(outFile)
		sc := bufio.NewScanner(bytes.NewReader(f))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				outputs[s.ID][k] = v
			}
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return outputs, ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("step %s: %v\n%s", s.ID, err, stderr.String())
		}
	}
	return outputs, 0
}

// sarifReport is what the test reads of a SARIF report.
type sarifReport struct {
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name string `json:"name"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			Level     string `json:"level"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
		} `json:"results"`
	} `json:"runs"`
}

func readAction(t *testing.T) *action {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.UnmarshalStrict(data, &a); err != nil {
		// Strict: a misspelt key would make GitHub ignore it.
		var loose action
		if yaml.Unmarshal(data, &loose) != nil {
			t.Fatalf("action.yml: %v", err)
		}
		a = loose
	}
	return &a
}

// TestAction: action.yml is a composite action that installs sctpguard at a pinned version
// with go install, runs check with the user's arguments, writes SARIF, uploads it with a
// pinned upload-sarif, and fails the job as check's exit code says.
func TestAction(t *testing.T) {
	a := readAction(t)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using %q, want composite", a.Runs.Using)
	}
	if v := a.Inputs["version"].Default; !regexp.MustCompile("^" + semver + "$").MatchString(v) {
		t.Errorf("the version input's default %q is not a pinned version", v)
	}
	var uses []string
	for _, s := range a.Runs.Steps {
		if s.Uses != "" {
			uses = append(uses, s.Uses)
			if !pinned.MatchString(s.Uses) {
				t.Errorf("step uses %q: not pinned to a version", s.Uses)
			}
		}
		if s.ID == "install" && !strings.Contains(s.Run, `go install "github.com/sctpguard/sctpguard/cmd/sctpguard@${VERSION}"`) {
			t.Errorf("the install step does not go install sctpguard at the version input:\n%s", s.Run)
		}
		if s.Run != "" && s.Shell != "bash" {
			t.Errorf("step %s: shell %q, want bash (composite actions need one)", s.ID, s.Shell)
		}
	}
	if !slices.ContainsFunc(uses, func(u string) bool { return strings.HasPrefix(u, "github/codeql-action/upload-sarif@") }) {
		t.Errorf("no upload-sarif step among %v", uses)
	}

	bin := binary(t)
	for _, tc := range []struct {
		name, args string
		code       int
		// rules are the SARIF results' rule IDs and files, in order.
		results []string
	}{
		{"clean", "-f examples/seeds --ako-values examples/ako/values.yaml", 0, []string{
			"sctp-port-unnamed examples/seeds/ako-loadbalancer-service.yaml", "sctp-port-unnamed examples/seeds/kep-614-user-stories.yaml",
			"sctp-port-unnamed examples/seeds/kep-614-user-stories.yaml", "sctp-port-unnamed examples/seeds/kep-614-user-stories.yaml",
			"sctp-port-unnamed examples/seeds/kep-614-user-stories.yaml",
		}},
		{"denied", "-f examples/broken/sctp-nodeportlocal.yaml --ako-values examples/ako/values-nodeportlocal.yaml", 1, []string{
			"sctp-nodeportlocal examples/broken/sctp-nodeportlocal.yaml",
		}},
		{"unreadable", "-f examples/missing.yaml", 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sarif := filepath.Join(t.TempDir(), "out.sarif")
			outputs, code := runAction(t, a, bin, repo, map[string]string{"args": tc.args, "sarif-file": sarif})
			if code != tc.code || outputs["check"]["exit-code"] != strconv.Itoa(tc.code) {
				t.Errorf("exit code %d, output exit-code %q; want %d", code, outputs["check"]["exit-code"], tc.code)
			}
			data, err := os.ReadFile(sarif)
			if err != nil {
				t.Fatal(err)
			}
			var r sarifReport
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("SARIF: %v\n%s", err, data)
			}
			if r.Version != "2.1.0" || len(r.Runs) != 1 || r.Runs[0].Tool.Driver.Name != "sctpguard" {
				t.Fatalf("SARIF version %q, %d runs", r.Version, len(r.Runs))
			}
			var got []string
			for _, res := range r.Runs[0].Results {
				if res.RuleID == "" || len(res.Locations) != 1 || res.Locations[0].PhysicalLocation.Region.StartLine < 1 {
					t.Errorf("result without rule or location: %+v", res)
					continue
				}
				if strings.HasPrefix(res.RuleID, "sctpguard-") { // unreadable inputs
					continue
				}
				got = append(got, res.RuleID+" "+res.Locations[0].PhysicalLocation.ArtifactLocation.URI)
			}
			if diff := cmp.Diff(tc.results, got); diff != "" {
				t.Errorf("SARIF results (-want +got):\n%s", diff)
			}
		})
	}
}

// hook is what the test reads of a pre-commit hook definition.
type hook struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Entry         string   `json:"entry"`
	Language      string   `json:"language"`
	Files         string   `json:"files"`
	PassFilenames *bool    `json:"pass_filenames"`
	RequireSerial bool     `json:"require_serial"`
	Args          []string `json:"args"`
}

// TestPreCommitHook: the hook runs sctpguard check on the staged manifests, all at once, as
// pre-commit runs it: entry, args, then the file names its files pattern selects.
func TestPreCommitHook(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []hook
	if err := yaml.UnmarshalStrict(data, &hooks); err != nil && !strings.Contains(err.Error(), "unknown field") {
		t.Fatal(err)
	}
	if len(hooks) != 1 {
		t.Fatalf("%d hooks, want 1", len(hooks))
	}
	h := hooks[0]
	if h.ID != "sctpguard-check" || h.Language != "golang" || h.PassFilenames == nil || !*h.PassFilenames || !h.RequireSerial {
		t.Errorf("hook %+v: want id sctpguard-check, language golang, pass_filenames and require_serial", h)
	}
	files := regexp.MustCompile(h.Files)
	for name, want := range map[string]bool{"a.yaml": true, "b/c.yml": true, "d.json": true, "README.md": false, "x.yaml.orig": false} {
		if files.MatchString(name) != want {
			t.Errorf("files %q matches %s: %t, want %t", h.Files, name, !want, want)
		}
	}
	bin := binary(t)
	entry := strings.Fields(h.Entry)
	if entry[0] != "sctpguard" {
		t.Fatalf("entry %q does not run sctpguard", h.Entry)
	}
	staged := func(dir string) []string {
		var out []string
		_ = filepath.WalkDir(filepath.Join(repo, dir), func(p string, d os.DirEntry, _ error) error {
			if rel, _ := filepath.Rel(repo, p); !d.IsDir() && files.MatchString(rel) {
				out = append(out, rel)
			}
			return nil
		})
		return out
	}
	for _, tc := range []struct {
		name  string
		args  []string
		files []string
		code  int
		last  string
	}{
		{"seeds", []string{"--ako-values", "examples/ako/values.yaml"}, staged("examples/seeds"), 0,
			"checked 18 resources in 5 inputs: 0 denied (0 denials), 5 with warnings only (5 warnings)\n"},
		{"NodePortLocal", []string{"--ako-values", "examples/ako/values-nodeportlocal.yaml"}, []string{"examples/broken/sctp-nodeportlocal.yaml", "examples/seeds/ako-loadbalancer-service.yaml"}, 1,
			"checked 3 resources in 2 inputs: 2 denied (2 denials), 0 with warnings only (1 warning)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, slices.Concat(entry[1:], h.Args, tc.args, tc.files)...)
			cmd.Dir = repo
			out, err := cmd.Output()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.HasSuffix(string(out), tc.last) {
				t.Errorf("exit code %d (want %d), output:\n%s\nwant it to end with %q", code, tc.code, out, tc.last)
			}
		})
	}
}
