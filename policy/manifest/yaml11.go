package manifest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// kubectl converts YAML to JSON with sigs.k8s.io/yaml, which parses with yaml.v2 and so
// reads scalars by YAML 1.1: yes, no, on, off, y and n are booleans, keys become the text
// of what they resolve to (0x10 is "16", y is "true"). sctpguard parses with yaml.v3 for its
// line numbers and resolves scalars here as yaml.v2 does (its resolve.go), so that it judges
// the values kubectl sends: a ConfigMap value "enabled: yes" is the boolean true that the
// API server refuses, not the string "yes".

// Tags of resolved scalars.
const (
	tagStr       = "!!str"
	tagBool      = "!!bool"
	tagInt       = "!!int"
	tagFloat     = "!!float"
	tagNull      = "!!null"
	tagTimestamp = "!!timestamp"
	tagBinary    = "!!binary"
	tagMerge     = "!!merge"
)

// yaml11Words are the plain scalars yaml.v2 resolves by their whole text.
var yaml11Words = func() map[string]resolved {
	m := map[string]resolved{}
	for _, w := range []struct {
		r     resolved
		words []string
	}{
		{resolved{tag: tagBool, v: true}, []string{"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}},
		{resolved{tag: tagBool, v: false}, []string{"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}},
		{resolved{tag: tagNull, v: nil}, []string{"", "~", "null", "Null", "NULL"}},
		{resolved{tag: tagFloat, v: math.NaN()}, []string{".nan", ".NaN", ".NAN"}},
		{resolved{tag: tagFloat, v: math.Inf(1)}, []string{".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}},
		{resolved{tag: tagFloat, v: math.Inf(-1)}, []string{"-.inf", "-.Inf", "-.INF"}},
		{resolved{tag: tagMerge, text: "<<"}, []string{"<<"}},
	} {
		for _, s := range w.words {
			m[s] = w.r
		}
	}
	return m
}()

var yamlStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// hint is yaml.v2's resolveTable: what the first character of a plain scalar says it might be.
func hint(c byte) byte {
	switch {
	case c == '+' || c == '-':
		return 'S'
	case c >= '0' && c <= '9':
		return 'D'
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		return 'M'
	case c == '.':
		return '.'
	}
	return 0
}

// numberChars says whether every byte of s can be part of a number that resolveText reads:
// digits, hex digits, signs, a point, and the prefixes 0x, 0o, 0b. Text with any other
// byte is no number, whichever way it is parsed.
func numberChars(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F',
			c == 'x', c == 'X', c == 'o', c == 'O', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// resolved is a scalar as yaml.v2 reads it: its tag and its value, text for the tags whose
// value is a string (str, timestamp, merge) and v (bool, int64, uint64, float64 or nil) for
// the others. (Text kept apart from v costs no allocation: most scalars are strings.)
type resolved struct {
	tag  string
	text string
	v    any
}

// isText reports whether the value is a string, in text.
func (r resolved) isText() bool {
	return r.tag == tagStr || r.tag == tagTimestamp || r.tag == tagMerge
}

// value is the value as a Go value: string, bool, int64, uint64, float64 or nil.
func (r resolved) value() any {
	if r.isText() {
		return r.text
	}
	return r.v
}

// resolve11 reads a scalar node as yaml.v2 does: plain scalars by their text, quoted and
// block scalars as strings, explicitly tagged ones by their tag.
func resolve11(n *yaml.Node, src *source) (resolved, error) {
	if src.nonSpecific(n) {
		return resolved{tag: tagStr, text: n.Value}, nil
	}
	explicit := n.Style&yaml.TaggedStyle != 0
	if !explicit {
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return resolved{tag: tagStr, text: n.Value}, nil
		}
		return resolvePlain("", n.Value)
	}
	switch n.Tag {
	case "", tagStr, tagBool, tagInt, tagFloat, tagNull, tagTimestamp:
		return resolvePlain(n.Tag, n.Value)
	case tagBinary:
		data, err := base64.StdEncoding.DecodeString(n.Value)
		if err != nil {
			return resolved{}, fmt.Errorf("!!binary value contains invalid base64 data")
		}
		// JSON carries it as text, invalid UTF-8 replaced, as json.Marshal does.
		text, _ := json.Marshal(string(data))
		var s string
		_ = json.Unmarshal(text, &s)
		return resolved{tag: tagStr, text: s}, nil
	}
	// Other tags (!Ref, !!map on a scalar) leave the text as it is.
	return resolved{tag: tagStr, text: n.Value}, nil
}

// resolvePlain is yaml.v2's resolve for the text in, with an explicit tag or none.
func resolvePlain(tag, in string) (resolved, error) {
	r := resolveText(tag, in)
	switch {
	case tag == "" || tag == r.tag || tag == tagStr:
	case tag == tagFloat && r.tag == tagInt:
		switch v := r.v.(type) {
		case int64:
			r = resolved{tag: tagFloat, v: float64(v)}
		case uint64:
			r = resolved{tag: tagFloat, v: float64(v)}
		}
	default:
		return resolved{}, fmt.Errorf("cannot decode %s `%s` as a %s", r.tag, in, tag)
	}
	return r, nil
}

func resolveText(tag, in string) resolved {
	h := byte('N')
	if in != "" {
		h = hint(in[0])
	}
	if h == 0 || tag == tagStr {
		return resolved{tag: tagStr, text: in}
	}
	if r, ok := yaml11Words[in]; ok {
		return r
	}
	switch h {
	case '.':
		if f, err := strconv.ParseFloat(in, 64); err == nil {
			return resolved{tag: tagFloat, v: f}
		}
	case 'D', 'S':
		if tag == "" || tag == tagTimestamp {
			if isTimestamp(in) {
				return resolved{tag: tagTimestamp, text: in}
			}
		}
		plain := strings.ReplaceAll(in, "_", "")
		if !numberChars(plain) {
			break // 100m, 128Mi, 10.0.0.1/8: text, without parsing it four ways
		}
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return resolved{tag: tagInt, v: i}
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return resolved{tag: tagInt, v: u}
		}
		if yamlStyleFloat.MatchString(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil {
				return resolved{tag: tagFloat, v: f}
			}
		}
		if rest, ok := strings.CutPrefix(plain, "0b"); ok {
			if i, err := strconv.ParseInt(rest, 2, 64); err == nil {
				return resolved{tag: tagInt, v: i}
			}
			if u, err := strconv.ParseUint(rest, 2, 64); err == nil {
				return resolved{tag: tagInt, v: u}
			}
		} else if rest, ok := strings.CutPrefix(plain, "-0b"); ok {
			if i, err := strconv.ParseInt("-"+rest, 2, 64); err == nil {
				return resolved{tag: tagInt, v: i}
			}
		}
	}
	return resolved{tag: tagStr, text: in}
}

// timestampFormats are the layouts yaml.v2 reads as timestamps.
var timestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

// isTimestamp is yaml.v2's parseTimestamp. A timestamp reaches JSON as its text.
func isTimestamp(s string) bool {
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, f := range timestampFormats {
		if _, err := time.Parse(f, s); err == nil {
			return true
		}
	}
	return false
}

// jsonValue is a resolved scalar as a JSON value: int64 or float64 for numbers (as
// apimachinery's JSON decoding gives them), an error for what JSON cannot carry.
func (r resolved) jsonValue() (any, error) {
	switch v := r.v.(type) {
	case nil:
		return r.value(), nil
	case uint64:
		return float64(v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%v is not a number JSON can carry, and kubectl refuses it", v)
		}
	}
	return r.v, nil
}

// keyText is the JSON key a resolved mapping key becomes, as sigs.k8s.io/yaml writes it
// (convertToJSONableObject).
func (r resolved) keyText() (string, error) {
	if r.isText() {
		return r.text, nil
	}
	switch v := r.v.(type) {
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s, nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("a %s key cannot be a JSON key", r.tag)
}

// yaml.v3 drops the non-specific tag "!" (and "!<!>") from the nodes it builds, where
// yaml.v2 reads a scalar so tagged as a string: "! 5" is the string "5" for kubectl. The
// tag is found again in the source, at the node's position, where its properties start.

// source is the text of one document, for what its nodes do not keep.
type source struct {
	data []byte
	bang bool  // the text has a '!': only then can a tag hide
	line []int // offsets of the starts of lines, as yaml.v3 breaks them; built on first use
	last struct{ line, col, off int }
}

func newSource(data []byte) source {
	return source{data: data, bang: bytes.IndexByte(data, '!') >= 0}
}

// nonSpecific reports whether a plain scalar has the non-specific tag.
func (s *source) nonSpecific(n *yaml.Node) bool {
	if s == nil || !s.bang || n.Style != 0 || n.Kind != yaml.ScalarNode {
		return false
	}
	off := s.offset(n.Line, n.Column)
	// Properties: anchors (&name) and at most one tag, each ended by white space.
	for off < len(s.data) && (s.data[off] == '&' || s.data[off] == '!') {
		end := off
		for end < len(s.data) && !isBlank(s.data[end]) {
			end++
		}
		if p := string(s.data[off:end]); p == "!" || p == "!<!>" {
			return true
		}
		for off = end; off < len(s.data) && isBlank(s.data[off]); off++ {
		}
	}
	return false
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// offset returns the byte offset of a 1-based line and column (in characters) of yaml.v3.
func (s *source) offset(line, col int) int {
	if s.line == nil {
		s.line = []int{0}
		if bytes.HasPrefix(s.data, []byte("\ufeff")) {
			s.line[0] = 3 // the byte order mark is not a column
		}
		for i := 0; i < len(s.data); i++ {
			switch {
			case s.data[i] == '\r' && i+1 < len(s.data) && s.data[i+1] == '\n':
				i++
				s.line = append(s.line, i+1)
			case s.data[i] == '\r' || s.data[i] == '\n':
				s.line = append(s.line, i+1)
			case s.data[i] == 0xc2 && i+1 < len(s.data) && s.data[i+1] == 0x85: // NEL
				i++
				s.line = append(s.line, i+1)
			case s.data[i] == 0xe2 && i+2 < len(s.data) && s.data[i+1] == 0x80 && (s.data[i+2] == 0xa8 || s.data[i+2] == 0xa9): // LS, PS
				i += 2
				s.line = append(s.line, i+1)
			}
		}
	}
	if line < 1 || line > len(s.line) {
		return len(s.data)
	}
	// Nodes come in order: walk on from the last one when it is on the same line, so that
	// a long line costs its length once, not once per node.
	off, c := s.line[line-1], 1
	if s.last.line == line && s.last.col <= col {
		off, c = s.last.off, s.last.col
	}
	for ; c < col && off < len(s.data); c++ {
		_, size := utf8.DecodeRune(s.data[off:])
		off += size
	}
	s.last.line, s.last.col, s.last.off = line, col, off
	return off
}
