package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"
)

// TestDockerfileBuildsWhatMakeBuilds: the Dockerfile's build step is make build's command,
// character for character, with the image's output path and version (there is no Docker
// engine in CI to build the image, so this keeps the image's binary the tests' binary), and
// its Go image is the Go version of go.mod.
func TestDockerfileBuildsWhatMakeBuilds(t *testing.T) {
	// make -n prints the recipe with the variables expanded; $$ leaves ${VERSION} for docker.
	out, stderr, code := run(repo, []string{"MAKEFLAGS=", "MAKELEVEL="}, "", "make", "-s", "-n", "build",
		"GO=go", "BIN=/out", "VERSION=$${VERSION}")
	if code != 0 {
		t.Fatalf("make -n build: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var builds []string
	var from string
	for _, line := range strings.Split(string(data), "\n") {
		if cmd, ok := strings.CutPrefix(line, "RUN "); ok && strings.Contains(cmd, " build ") {
			builds = append(builds, cmd)
		}
		if m := regexp.MustCompile(`^FROM golang:(\S+) AS build$`).FindStringSubmatch(line); m != nil {
			from = m[1]
		}
	}
	if diff := cmp.Diff([]string{strings.TrimSpace(out)}, builds); diff != "" {
		t.Errorf("the Dockerfile's go build (+) is not make build's (-):\n%s", diff)
	}
	mod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax("go.mod", mod, nil)
	if err != nil {
		t.Fatal(err)
	}
	// go 1.26.0 builds with any golang:1.26 image.
	if want := strings.Join(strings.Split(f.Go.Version, ".")[:2], "."); from != want {
		t.Errorf("the Dockerfile builds with golang:%s; go.mod says go %s (want golang:%s)", from, f.Go.Version, want)
	}
}
