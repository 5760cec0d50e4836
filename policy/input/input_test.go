//go:build linux

package input_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/policy/input"
)

// TestReadFile: each kind of path is read whole or refused with a message naming it, and
// nothing blocks: a named pipe with no writer is refused at once.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("ok.yaml", "a: 1\n")
	exact := write("exact.yaml", strings.Repeat("x", 64))
	big := write("big.yaml", strings.Repeat("x", 65))
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop.yaml")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, want, wantErr string
	}{
		{path: ok, want: "a: 1\n"},
		{path: exact, want: strings.Repeat("x", 64)},
		{path: big, wantErr: "read " + big + ": file is 65 bytes, over the limit of 64 bytes"},
		{path: fifo, wantErr: "read " + fifo + ": not a regular file but a named pipe; only regular files are read"},
		{path: link, wantErr: "read " + link + ": not a regular file but a named pipe; only regular files are read"},
		{path: "/dev/zero", wantErr: "read /dev/zero: not a regular file but a character device; only regular files are read"},
		{path: dir, wantErr: "read " + dir + ": not a regular file but a directory; only regular files are read"},
		{path: loop, wantErr: "read " + loop + ": too many levels of symbolic links"},
		{path: filepath.Join(dir, "missing.yaml"), wantErr: "read " + filepath.Join(dir, "missing.yaml") + ": no such file or directory"},
	} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			done := make(chan struct{})
			var got []byte
			var err error
			go func() {
				defer close(done)
				got, err = input.ReadFile(tt.path, 64)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("ReadFile blocked")
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestOpenGrowing: a file that reports no size (as under /proc) or grows while read is cut
// off at the limit, not read to the end.
func TestOpenGrowing(t *testing.T) {
	f, err := input.Open("/proc/self/status", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(f)
	var tl *input.TooLargeError
	if !errors.As(err, &tl) || len(data) != 16 || err.Error() != "read /proc/self/status: larger than the limit of 16 bytes" {
		t.Fatalf("read %d bytes, error %v", len(data), err)
	}
}

func TestLimit(t *testing.T) {
	for _, tt := range []struct {
		in      string
		wantErr bool
	}{
		{"", false},
		{"12345678", false},
		{"123456789", true},
		{strings.Repeat("z", 1<<16), true},
	} {
		data, err := io.ReadAll(input.Limit(bytes.NewReader([]byte(tt.in)), 8))
		switch {
		case tt.wantErr && (err == nil || err.Error() != "larger than the limit of 8 bytes" || len(data) != 8):
			t.Errorf("%d bytes: read %d, error %v; want 8 and the limit", len(tt.in), len(data), err)
		case !tt.wantErr && (err != nil || string(data) != tt.in):
			t.Errorf("%d bytes: read %q, error %v", len(tt.in), data, err)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1536: "1.5 KiB", 32 << 20: "32.0 MiB"} {
		if got := input.HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestReadFileIn: inside a directory, the same rules hold, and no symbolic link leads out.
func TestReadFileIn(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ok.rego"), []byte("package p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.rego"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "out.rego")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	if data, err := input.ReadFileIn(root, "ok.rego", 64); err != nil || string(data) != "package p\n" {
		t.Errorf("ok.rego: %q, %v", data, err)
	}
	for name, want := range map[string]string{
		"fifo.rego": "read fifo.rego: not a regular file but a named pipe; only regular files are read",
		"out.rego":  "read out.rego: path escapes from parent",
	} {
		if _, err := input.ReadFileIn(root, name, 64); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", name, err, want)
		}
	}
}
