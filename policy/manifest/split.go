package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The splitter cuts a stream into documents exactly where `kubectl apply -f` does, so that
// sctpguard judges the very objects kubectl sends. kubectl (cli-runtime's
// StreamVisitor.Visit) reads a stream with apimachinery's yaml.NewYAMLOrJSONDecoder, and
// the rules below are that decoder's (k8s.io/apimachinery/pkg/util/yaml, decoder.go):
//
//   - The stream is JSON when its first non-space character within jsonPeek bytes is '{'
//     (GuessJSONStream); then it is read value by value with encoding/json. Should the
//     first or second value fail to parse, the rest is read as YAML (YAMLOrJSONDecoder.Decode
//     falls back; a flow mapping such as "{a: b}" is YAML that starts with '{').
//   - YAML is read line by line, a line ending at '\n' with one '\r' before it dropped
//     (LineReader, bufio.Reader.ReadLine): CRLF and LF files split alike, and a lone '\r'
//     ends no line.
//   - A line starting with "---" ends the document (YAMLReader.Read), whatever follows on
//     the line as long as it is blank or a comment; anything else after "---" is an error.
//     The separator line that ends a document belongs to no document; one that starts a
//     document (the first line of the stream, or right after a separator) belongs to it.
//
// The differential fuzz test (FuzzSplit) holds the splitter to apimachinery's decoder.

// lineBuffer is the size of the buffer YAML lines are read through.
const lineBuffer = 64 << 10

// jsonPeek is how far into a stream kubectl looks for the '{' of a JSON stream: the buffer
// size StreamVisitor gives NewYAMLOrJSONDecoder.
const jsonPeek = 4096

// chunk is one document of a stream, a YAML document or a JSON value: its text and the
// line breaks before it in the stream.
type chunk struct {
	data   []byte
	offset int
	// json says data is one JSON value, as encoding/json read it.
	json bool
}

// splitter reads a stream one document at a time, holding no more of it than the document
// being read.
type splitter struct {
	r *bufio.Reader // YAML mode's reader, or the one to reset for it

	// JSON mode: win records what the JSON decoder read, to count its lines and to hand
	// what follows to the YAML reader should the stream turn out to be YAML.
	win   *window
	json  *json.Decoder
	yaml  bool // YAML mode, for good
	count int  // documents read, as kubectl counts them (null and empty ones included)

	line int   // line breaks read so far (LF, CRLF or a lone CR: lines as YAML and editors count them)
	pos  int64 // bytes read so far
	cr   bool  // the last byte read was a '\r', whose '\n' may follow
	err  error // sticky

	// reuse says the reader is done with a document once it asks for the next one: the
	// YAML documents are then read into one buffer, buf, not each into its own.
	reuse bool
	buf   []byte
}

// newSplitter returns a splitter of r that reads YAML through lines, a reader it resets for
// r (nil: a new one).
func newSplitter(r io.Reader, lines *bufio.Reader) *splitter {
	s := &splitter{win: &window{r: r}, r: lines}
	head, err := s.win.peek(jsonPeek)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
		return s
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		// Say "binary" of a binary file, before its bytes that are not UTF-8.
		s.err = fmt.Errorf("binary content (NUL byte at offset %d), not a YAML or JSON manifest", i)
		return s
	}
	if trimmed := bytes.TrimLeftFunc(head, unicode.IsSpace); len(trimmed) > 0 && trimmed[0] == '{' {
		s.json = json.NewDecoder(s.win)
		return s
	}
	s.toYAML(s.win.rest())
	return s
}

// toYAML reads the rest of the stream as YAML.
func (s *splitter) toYAML(r io.Reader) {
	s.yaml, s.json = true, nil
	if s.r == nil {
		s.r = bufio.NewReaderSize(r, lineBuffer)
	}
	s.r.Reset(r)
}

// next returns the next document, io.EOF after the last, or the error that ends the stream.
// Empty documents are returned too: whether a document holds an object is the decoder's
// to say.
func (s *splitter) next() (chunk, error) {
	if s.err != nil {
		return chunk{}, s.err
	}
	var c chunk
	var err error
	if s.yaml {
		c, err = s.nextYAML()
	} else {
		c, err = s.nextJSON()
	}
	if err != nil {
		s.err = err
		return chunk{}, err
	}
	s.count++
	return c, nil
}

func (s *splitter) nextJSON() (chunk, error) {
	var raw json.RawMessage
	err := s.json.Decode(&raw)
	if err == nil {
		// InputOffset counts from the start of the JSON decoder's input: the value, and the
		// space before it, are what the window holds up to there.
		span := s.win.consume(int(s.json.InputOffset() - s.win.consumed))
		ws := len(span) - len(raw)
		if err := s.read(span[:ws]); err != nil {
			return chunk{}, err
		}
		c := chunk{data: raw, offset: s.line, json: true}
		return c, s.read(raw)
	}
	if errors.Is(err, io.EOF) {
		return chunk{}, io.EOF
	}
	if !isJSONError(err) {
		return chunk{}, err // reading failed, not parsing
	}
	jsonErr := s.jsonError(err)
	if s.count > 1 {
		return chunk{}, jsonErr
	}
	// Not a JSON stream after all: read what follows the last value as YAML, from its
	// first line that is not blank, as kubectl does.
	s.win.rewind()
	ok, ws, rerr := s.win.skipSpace()
	if rerr != nil {
		return chunk{}, rerr
	}
	if !ok {
		return chunk{}, jsonErr
	}
	if err := s.read(ws); err != nil {
		return chunk{}, err
	}
	s.toYAML(s.win.rest())
	return s.nextYAML()
}

// isJSONError tells a parse error of encoding/json from a failure to read.
func isJSONError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (s *splitter) jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// The offset counts from the JSON decoder's start; the window still holds the
		// bytes from the last value's end.
		unread := s.win.unconsumed(int(se.Offset - s.win.consumed))
		return &lineError{line: 1 + s.line + lineBreaks(unread, s.cr), msg: "invalid JSON: " + err.Error()}
	}
	return &lineError{line: 1 + s.line, msg: "invalid JSON: " + err.Error()}
}

// nextYAML reads lines up to the next separator line or the end of the stream.
func (s *splitter) nextYAML() (chunk, error) {
	var doc []byte
	if s.reuse {
		doc = s.buf[:0]
	}
	start := s.line
	for {
		raw, err := s.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return chunk{}, err
		}
		if len(raw) == 0 { // end of the stream
			if len(doc) == 0 {
				return chunk{}, io.EOF
			}
			s.keep(doc)
			return chunk{data: doc, offset: start}, nil
		}
		lineNo := s.line + 1
		if err := s.read(raw); err != nil {
			return chunk{}, err
		}
		// The line as kubectl's LineReader returns it: without "\n" and one "\r" before
		// it, then "\n" added back.
		text := raw
		if text[len(text)-1] == '\n' {
			text = text[:len(text)-1]
			text = bytes.TrimSuffix(text, []byte("\r"))
		}
		if bytes.HasPrefix(text, []byte("---")) {
			if rest := strings.TrimSpace(string(text[3:])); rest != "" && rest[0] != '#' {
				return chunk{}, &lineError{line: lineNo, msg: fmt.Sprintf("%q is not a document separator: only a comment may follow --- on its line, and kubectl refuses the stream", truncate(string(text), 40))}
			}
			if len(doc) > 0 {
				s.keep(doc)
				return chunk{data: doc, offset: start}, nil
			}
			// A separator that starts a document stays in it (YAMLReader.Read writes it
			// to its empty buffer): "--- # comment" is YAML's own document start, and
			// "---#" a scalar.
		}
		doc = append(append(doc, text...), '\n')
	}
}

// keep keeps the buffer of a document returned, to read the next one into when reuse.
func (s *splitter) keep(doc []byte) {
	if s.reuse {
		s.buf = doc
	}
}

// readLine returns the next line with its line ending, or what is left at the end of the
// stream (nothing when the stream has ended).
func (s *splitter) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = s.r.ReadSlice('\n')
		long = append(long, line...)
	}
	return long, err
}

// read accounts for bytes read from the stream: their lines and position, and refuses what
// is not text.
func (s *splitter) read(b []byte) error {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return fmt.Errorf("binary content (NUL byte at offset %d), not a YAML or JSON manifest", s.pos+int64(i))
	}
	if !utf8.Valid(b) {
		i := invalidUTF8(b)
		return &lineError{line: 1 + s.line + lineBreaks(b[:i], s.cr), msg: fmt.Sprintf("invalid UTF-8 at offset %d; manifests must be UTF-8 text", s.pos+int64(i))}
	}
	s.line += lineBreaks(b, s.cr)
	s.pos += int64(len(b))
	if len(b) > 0 {
		s.cr = b[len(b)-1] == '\r'
	}
	return nil
}

// lineBreaks counts the line breaks in b as YAML does: "\n", "\r\n" and a lone "\r" each
// end a line. afterCR says the byte before b was a '\r', whose "\n" would not count again.
func lineBreaks(b []byte, afterCR bool) int {
	n := 0
	for i, c := range b {
		switch c {
		case '\r':
			n++
		case '\n':
			prevCR := afterCR
			if i > 0 {
				prevCR = b[i-1] == '\r'
			}
			if !prevCR {
				n++
			}
		}
	}
	return n
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// window reads a stream and keeps what was read and not yet consumed, so that it can be
// read again: the part of apimachinery's StreamReader the splitter needs.
type window struct {
	r        io.Reader
	buf      []byte // read from r and not consumed
	head     int    // next byte of buf to return
	consumed int64  // bytes consumed before buf
	err      error  // of r, once it failed or ended
}

func (w *window) Read(p []byte) (int, error) {
	if w.head < len(w.buf) {
		n := copy(p, w.buf[w.head:])
		w.head += n
		return n, nil
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.r.Read(p)
	w.buf = append(w.buf, p[:n]...)
	w.head += n
	if err != nil {
		w.err = err
	}
	return n, err
}

// peek returns the first n bytes (fewer at the end of the stream) without consuming them.
func (w *window) peek(n int) ([]byte, error) {
	p := make([]byte, n)
	got, err := io.ReadFull(w, p)
	w.head -= got
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return p[:got], err
}

// consume drops the first n bytes of what is kept, and returns them.
func (w *window) consume(n int) []byte {
	n = min(n, len(w.buf))
	out := w.buf[:n:n]
	w.buf = w.buf[n:]
	w.head -= min(n, w.head)
	w.consumed += int64(n)
	return out
}

// unconsumed returns the first n kept bytes, or all that are kept.
func (w *window) unconsumed(n int) []byte {
	return w.buf[:max(0, min(n, len(w.buf)))]
}

// rewind makes the kept bytes readable again.
func (w *window) rewind() { w.head = 0 }

// rest returns a reader of the kept bytes, from head, and then of the stream.
func (w *window) rest() io.Reader {
	return io.MultiReader(bytes.NewReader(w.buf[w.head:]), readerFunc(func(p []byte) (int, error) {
		if w.err != nil {
			return 0, w.err
		}
		return w.r.Read(p)
	}))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// skipSpace consumes white space up to and including the first newline, as kubectl's
// YAMLOrJSONDecoder.consumeWhitespace does before it reads YAML after JSON, and returns it.
// ok is false where kubectl gives up on YAML and reports the JSON error: fewer than four
// bytes left to read, or bytes that are not UTF-8.
func (w *window) skipSpace() (ok bool, ws []byte, err error) {
	n := 0
	for {
		buf := make([]byte, 4)
		got, rerr := io.ReadFull(w, buf)
		if rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF) {
			return false, nil, rerr
		}
		if got < len(buf) {
			return false, nil, nil
		}
		r, size := utf8.DecodeRune(buf)
		if r == utf8.RuneError {
			return false, nil, nil
		}
		w.head -= len(buf) - size
		if !unicode.IsSpace(r) {
			w.head -= size
			return true, w.consume(n), nil
		}
		n += size
		if r == '\n' {
			return true, w.consume(n), nil
		}
	}
}

// yamlSafeJSON returns a JSON value, valid as encoding/json read it, that yaml.v3 reads as
// kubectl's JSON decoder does. JSON allows in a string, unescaped, characters YAML refuses
// (DEL, the C1 controls, U+FFFE, U+FFFF), characters yaml.v3 takes for line breaks and folds
// into spaces (NEL, U+2028, U+2029), and bytes that are not UTF-8, which encoding/json reads
// as U+FFFD: each becomes its \u escape, which both read as the same character. Nothing else
// changes, line breaks included, so lines still count from the stream; data itself is
// returned when nothing needs escaping.
func yamlSafeJSON(data []byte) []byte {
	var out []byte
	last := 0 // data[last:i] is not yet in out
	inString := false
	for i := 0; i < len(data); {
		b := data[i]
		switch {
		case !inString:
			inString = b == '"'
			i++
			continue
		case b == '\\':
			i += 2 // an escape: the byte after the backslash never ends the string
			continue
		case b == '"':
			inString = false
			i++
			continue
		case b < utf8.RuneSelf && b != 0x7f:
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if yamlReadsAsJSON(r) {
			i += size
			continue
		}
		out = append(out, data[last:i]...)
		out = fmt.Appendf(out, `\u%04x`, r) // every such rune is in the Basic Multilingual Plane
		i += size
		last = i
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// yamlReadsAsJSON tells whether yaml.v3 reads a character of a JSON string, unescaped, as
// that character: a YAML printable character that it does not take for a line break.
// utf8.RuneError stands for a byte that is not UTF-8 too, so it is escaped either way.
func yamlReadsAsJSON(r rune) bool {
	switch {
	case r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == utf8.RuneError:
		return false
	case r < 0x7f:
		return true
	case r < 0xa0:
		return false // C1 controls
	case r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
		return false
	}
	return true
}
