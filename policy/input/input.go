package input

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// DefaultMaxSize bounds one input file or standard input. The API server accepts at most
// 3 MiB per object; 32 MiB leaves room for large multi-document files.
const DefaultMaxSize = 32 << 20

// TooLargeError is an input over the size limit.
type TooLargeError struct {
	// Size is the input's size in bytes, or -1 for a stream cut off at the limit.
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("larger than the limit of %s", HumanBytes(e.Limit))
	}
	return fmt.Sprintf("file is %s, over the limit of %s", HumanBytes(e.Size), HumanBytes(e.Limit))
}

// NotRegularError is a path that is not a regular file.
type NotRegularError struct {
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return "not a regular file but " + describe(e.Mode) + "; only regular files are read"
}

func describe(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	}
	return "an irregular file"
}

// Open opens the regular file at path for reading. It refuses, before reading anything,
// other kinds of file and files over max bytes; the returned reader fails with a
// *TooLargeError should the file grow past max while it is read (files under /proc report
// no size). Errors are *fs.PathError naming the file.
func Open(path string, max int64) (io.ReadCloser, error) {
	return open(osDir{}, path, max)
}

// OpenIn is Open for a file inside root, which no symbolic link leads out of.
func OpenIn(root *os.Root, name string, max int64) (io.ReadCloser, error) {
	return open(root, name, max)
}

// dir is what open needs of a directory: os.Root, or osDir for paths as given.
type dir interface {
	Stat(name string) (fs.FileInfo, error)
	OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error)
}

type osDir struct{}

func (osDir) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
func (osDir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}

func open(d dir, path string, max int64) (io.ReadCloser, error) {
	fail := func(err error) (io.ReadCloser, error) {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	// refuse says why a file is not read, or nil.
	refuse := func(info fs.FileInfo) error {
		switch {
		case !info.Mode().IsRegular():
			return &NotRegularError{Mode: info.Mode()}
		case info.Size() > max:
			return &TooLargeError{Size: info.Size(), Limit: max}
		}
		return nil
	}
	// Stat first: opening a named pipe blocks until a writer comes, which may be never.
	info, err := d.Stat(path)
	if err != nil {
		return fail(unwrapPath(err))
	}
	if err := refuse(info); err != nil {
		return fail(err)
	}
	// The path may have been replaced since: open without blocking and look again.
	f, err := d.OpenFile(path, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return fail(unwrapPath(err))
	}
	if info, err = f.Stat(); err == nil {
		err = refuse(info)
	}
	if err != nil {
		_ = f.Close()
		return fail(unwrapPath(err))
	}
	return &file{Reader: Limit(f, max), f: f, path: path}, nil
}

// file is an open input whose read errors name it.
type file struct {
	io.Reader
	f    *os.File
	path string
}

func (f *file) Read(p []byte) (int, error) {
	n, err := f.Reader.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &fs.PathError{Op: "read", Path: f.path, Err: unwrapPath(err)}
	}
	return n, err
}

func (f *file) Close() error { return f.f.Close() }

// ReadFile reads the whole regular file at path, as Open does.
func ReadFile(path string, max int64) ([]byte, error) {
	return readAll(Open(path, max))
}

// ReadFileIn reads the whole regular file name inside root, as OpenIn does.
func ReadFileIn(root *os.Root, name string, max int64) ([]byte, error) {
	return readAll(OpenIn(root, name, max))
}

func readAll(f io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(f)
}

// Limit returns a reader that reads r and fails with a *TooLargeError (Size -1) instead of
// returning byte max+1.
func Limit(r io.Reader, max int64) io.Reader {
	return &limited{r: r, left: max, max: max}
}

type limited struct {
	r    io.Reader
	left int64
	max  int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &TooLargeError{Size: -1, Limit: l.max}
	}
	// Read one byte more than allowed, to tell "exactly max" from "more".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n - int(-l.left), &TooLargeError{Size: -1, Limit: l.max}
	}
	return n, err
}

// unwrapPath drops the *fs.PathError around err: the caller's error names the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// HumanBytes renders a size for messages: 32.0 MiB, 12.5 KiB, 64 bytes.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
