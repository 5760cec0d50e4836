package manifest

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The fast path. yaml.v3 builds its node tree through libyaml's token and event machinery
// (a parser set up per document, tokens queued and peeked, an event per node), which made
// the parse about half of what `sctpguard check` cost: a check could not come near the
// parse floor while every document went through it. Kubernetes manifests are almost always
// plain YAML: block mappings and sequences of plain or simply quoted one-line scalars, now
// and then a flow collection on one line ("ports: [80, 443]", "{cpu: 100m}"). fastParser
// reads those in one pass over the lines, building exactly the yaml.Node tree yaml.v3
// builds: Kind, Style, Tag, Value, Line and Column of every node, in the same order.
//
// It is strict: on anything it does not fully support it returns false, and the document
// goes through yaml.v3 as before, so errors, messages and lines stay yaml.v3's. It leaves
// to yaml.v3: tabs, carriage returns, control and non-ASCII bytes; flow collections over
// several lines, with empty entries, collections as keys, or ':', '#', '?' in plain
// scalars; anchors, aliases and tags; block scalars; scalars over several lines or on the
// line after their key; double-quoted scalars with escapes; directives and document
// markers inside a document; complex keys; merge keys; keys written twice; keys of over
// 1,000 bytes; nesting deeper than maxFastDepth; a document without a mapping or sequence
// at its root. Tags of plain scalars are resolved as yaml.v3's resolve does (plainTag).
//
// yaml.v3 is the reference, not the YAML specification: FuzzFastYAML compares the two
// trees field by field for any input (and that yaml.v3 reads it as one document), and
// TestFastYAMLHandles checks that the manifests of the benchmarks and the examples do take
// the fast path, so that its speed cannot silently vanish.
//
// Comments are not kept: nothing in sctpguard reads the comment fields (HeadComment,
// LineComment, FootComment) of the nodes of a decoded document; Document.Patched, which
// keeps comments through a patch, re-reads the document's text with yaml.v3.

// maxFastDepth is the deepest nesting the fast path reads; deeper documents go to yaml.v3,
// which has its own limits.
const maxFastDepth = 100

// nodeBlock and contentBlock are the sizes of the blocks nodes and Content slices are handed
// out from.
const (
	nodeBlock    = 256
	contentBlock = 1024
)

// fastParser reads one document at a time; its node storage is reused from one document to
// the next (the nodes of a document are not kept once it is converted).
type fastParser struct {
	src string // the document

	// The current line: its start and end offsets in src (end at its '\n' or the end of
	// src), its indentation, and its 1-based number. eof says there is no line left.
	start, end, indent, line int
	eof                      bool

	// Storage for nodes, handed out in order from blocks[cur], nodes, of which used are
	// handed out; the blocks are reused from one document to the next.
	blocks    [][]yaml.Node
	cur, used int
	nodes     []yaml.Node
	scalars   []*yaml.Node // the nodes with a Value, a substring of src until detach
	content   []*yaml.Node // storage for the Content of collections
	stack     []*yaml.Node // the children of the collections being read
	keys      map[string]struct{}
}

// parse returns the root node of data, a YAML document, or false if the fast path does not
// handle it. The nodes returned are valid until the next call.
func (p *fastParser) parse(data []byte) (*yaml.Node, bool) {
	if !plainText(data) {
		return nil, false
	}
	p.src = string(data)
	p.cur, p.nodes, p.used = -1, nil, 0
	p.content, p.stack, p.scalars = p.content[:0], p.stack[:0], p.scalars[:0]
	p.start, p.end, p.line, p.eof = 0, -1, 0, false
	p.next()
	if p.eof {
		return nil, false // nothing but comments: rare, yaml.v3's
	}
	if p.line == 1 && strings.HasPrefix(p.src, "---") {
		// The document start marker of the chunk's first line, with at most a comment.
		if p.restBlank(3) < 0 {
			return nil, false
		}
		p.next()
		if p.eof {
			return nil, false
		}
	}
	root, ok := p.block(p.start+p.indent, 0)
	if !ok || !p.eof {
		return nil, false
	}
	p.detach()
	return root, true
}

// plainText says whether data is printable ASCII in lines ended by '\n'.
func plainText(data []byte) bool {
	for _, b := range data {
		if (b < ' ' && b != '\n') || b > '~' {
			return false
		}
	}
	return true
}

// next moves to the next line with content: not blank, not only a comment. At a line
// starting with a document marker or a directive it stops, for the caller to refuse.
func (p *fastParser) next() {
	for {
		if p.end >= len(p.src) {
			p.eof = true
			return
		}
		p.start = p.end + 1
		p.line++
		p.end = strings.IndexByte(p.src[p.start:], '\n')
		if p.end < 0 {
			p.end = len(p.src)
		} else {
			p.end += p.start
		}
		i := p.start
		for i < p.end && p.src[i] == ' ' {
			i++
		}
		if i < p.end && p.src[i] != '#' {
			p.indent = i - p.start
			return
		}
	}
}

// restBlank returns the end of the line if what follows offset i on it is blank or a
// comment after a space, or -1.
func (p *fastParser) restBlank(i int) int {
	j := i
	for j < p.end && p.src[j] == ' ' {
		j++
	}
	if j == p.end || (p.src[j] == '#' && j > i) {
		return p.end
	}
	return -1
}

// node returns a new node at offset at of the current line.
func (p *fastParser) node(kind yaml.Kind, style yaml.Style, tag, value string, at int) *yaml.Node {
	if p.used == len(p.nodes) {
		// The next block: fixed blocks, so that a document of a million nodes costs its
		// nodes, not twice as many.
		p.cur++
		if p.cur == len(p.blocks) {
			p.blocks = append(p.blocks, make([]yaml.Node, nodeBlock))
		}
		p.nodes, p.used = p.blocks[p.cur], 0
	}
	n := &p.nodes[p.used]
	p.used++
	// Field by field: a reused node has no anchor, alias or comments to clear, and writing
	// the whole struct costs a write barrier on each of its pointers.
	n.Kind, n.Style, n.Tag, n.Value, n.Content = kind, style, tag, value, nil
	n.Line, n.Column = p.line, at-p.start+1
	if value != "" {
		p.scalars = append(p.scalars, n)
	}
	return n
}

// detach gives the scalars their own copy of their text, one string for them all: what the
// decoded objects keep of a document is its values, not its text (comments, indentation).
func (p *fastParser) detach() {
	size := 0
	for _, n := range p.scalars {
		size += len(n.Value)
	}
	var b strings.Builder
	b.Grow(size)
	for _, n := range p.scalars {
		b.WriteString(n.Value)
	}
	all := b.String()
	for _, n := range p.scalars {
		n.Value, all = all[:len(n.Value)], all[len(n.Value):]
	}
}

// collect makes the children on the stack from base on the content of n.
func (p *fastParser) collect(n *yaml.Node, base int) {
	kids := p.stack[base:]
	switch {
	case len(kids) > contentBlock/4:
		n.Content = slices.Clone(kids) // large, and rare: its own
	default:
		if len(p.content)+len(kids) > cap(p.content) {
			p.content = make([]*yaml.Node, 0, contentBlock)
		}
		at := len(p.content)
		p.content = append(p.content, kids...)
		n.Content = p.content[at:len(p.content):len(p.content)]
	}
	p.stack = p.stack[:base]
}

// block reads the node that starts at offset i of the current line, the first on its line,
// at the given nesting depth: a block mapping or sequence, or a flow collection (a scalar
// alone on its line would be a multi-line scalar or the whole document, both left to
// yaml.v3).
func (p *fastParser) block(i, depth int) (*yaml.Node, bool) {
	if depth > maxFastDepth || p.lineStartsMarker() {
		return nil, false
	}
	switch {
	case p.entry(i):
		return p.sequence(i, depth, false)
	case p.src[i] == '[' || p.src[i] == '{':
		n, ok := p.scalarValue(i, depth)
		if ok {
			p.next()
		}
		return n, ok
	}
	return p.mapping(i, depth)
}

// lineStartsMarker says whether the current line starts with "---" or "...", or a
// directive: refused whatever follows.
func (p *fastParser) lineStartsMarker() bool {
	s := p.src[p.start:p.end]
	return p.indent == 0 && (strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") || s[0] == '%')
}

// entry says whether a block sequence entry ("-" then a space or the end of the line)
// starts at offset i.
func (p *fastParser) entry(i int) bool {
	return p.src[i] == '-' && (i+1 == p.end || p.src[i+1] == ' ')
}

// sequence reads a block sequence whose first "-" is at offset i of the current line.
// indentless is a sequence at the column of the mapping key it is the value of.
func (p *fastParser) sequence(i, depth int, indentless bool) (*yaml.Node, bool) {
	col := i - p.start
	seq := p.node(yaml.SequenceNode, 0, "!!seq", "", i)
	base := len(p.stack)
	for {
		// At "-" of an entry.
		j := i + 1
		for j < p.end && p.src[j] == ' ' {
			j++
		}
		var item *yaml.Node
		ok := true
		switch {
		case j == p.end || (p.src[j] == '#' && j > i+1):
			// "-" alone: the item is on the lines below, or empty.
			line, column := p.line, col+2
			p.next()
			if !p.eof && p.indent > col {
				item, ok = p.block(p.start+p.indent, depth+1)
			} else {
				item = p.emptyAt(line, column)
			}
		case p.entry(j):
			return nil, false // "- - a"
		default:
			item, ok = p.inline(j, depth+1)
		}
		more, ok := p.push(item, ok, col)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		i = p.start + p.indent
		if !p.entry(i) {
			if indentless {
				break // the next key of the mapping
			}
			return nil, false
		}
	}
	p.collect(seq, base)
	return seq, true
}

// push adds node, the last read of a collection at column col if ok, to the collection,
// and says where the line after it leaves the collection: more entries (a line at col), or
// its end (the end of the document, or a line left of col). ok is false for anything else
// (a line right of col goes on a scalar or is an error; a document marker), and when the
// node was not read.
func (p *fastParser) push(node *yaml.Node, read bool, col int) (more, ok bool) {
	if !read {
		return false, false
	}
	p.stack = append(p.stack, node)
	if p.eof || p.indent < col {
		return false, true
	}
	if p.indent > col || p.lineStartsMarker() {
		return false, false
	}
	return true, true
}

// emptyAt returns the empty scalar yaml.v3 gives an absent value, placed where it places
// it: just after the ':' or '-' whose value it is (line and 1-based column).
func (p *fastParser) emptyAt(line, column int) *yaml.Node {
	n := p.node(yaml.ScalarNode, 0, tagNull, "", p.start)
	n.Line, n.Column = line, column
	return n
}

// inline reads the node that starts at offset i, after "- " on the current line: a
// compact mapping ("- key: value") or a scalar. It moves past the lines it reads.
func (p *fastParser) inline(i, depth int) (*yaml.Node, bool) {
	if _, ok := p.key(i); ok {
		return p.mapping(i, depth)
	}
	n, ok := p.scalarValue(i, depth)
	if !ok {
		return nil, false
	}
	p.next()
	return n, true
}

// mapping reads a block mapping whose first key is at offset i of the current line.
func (p *fastParser) mapping(i, depth int) (*yaml.Node, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	col := i - p.start
	m := p.node(yaml.MappingNode, 0, "!!map", "", i)
	base := len(p.stack)
	for {
		k, ok := p.key(i)
		if !ok {
			return nil, false
		}
		key, colon := k.node, k.colon
		p.stack = append(p.stack, key)
		var value *yaml.Node
		if j := p.restBlank(colon + 1); j >= 0 {
			// "key:" alone: the value is on the lines below, or empty.
			line, column := p.line, colon-p.start+2
			p.next()
			switch {
			case !p.eof && p.indent > col:
				value, ok = p.block(p.start+p.indent, depth+1)
			case !p.eof && p.indent == col && p.entry(p.start+p.indent):
				value, ok = p.sequence(p.start+p.indent, depth+1, true)
			default:
				value = p.emptyAt(line, column)
			}
		} else {
			j := colon + 1
			for p.src[j] == ' ' {
				j++
			}
			if value, ok = p.scalarValue(j, depth+1); ok {
				p.next()
			}
		}
		more, ok := p.push(value, ok, col)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		i = p.start + p.indent
	}
	if !p.uniqueKeys(p.stack[base:]) {
		return nil, false
	}
	p.collect(m, base)
	return m, true
}

// uniqueKeys says whether no key of the pairs is written twice (by its text: yaml.v3 says
// what it says of "1" and "01", or of 'a' and a).
func (p *fastParser) uniqueKeys(pairs []*yaml.Node) bool {
	if len(pairs) <= 32 {
		for i := 0; i < len(pairs); i += 2 {
			for j := i + 2; j < len(pairs); j += 2 {
				if pairs[i].Value == pairs[j].Value {
					return false
				}
			}
		}
		return true
	}
	if p.keys == nil {
		p.keys = make(map[string]struct{}, len(pairs)/2)
	}
	clear(p.keys)
	for i := 0; i < len(pairs); i += 2 {
		if _, dup := p.keys[pairs[i].Value]; dup {
			return false
		}
		p.keys[pairs[i].Value] = struct{}{}
	}
	return true
}

// foundKey is a mapping key and the offset of the ':' after it.
type foundKey struct {
	node  *yaml.Node
	colon int
}

// key reads the mapping key at offset i of the current line, up to its ':' (followed by a
// space or the end of the line), or says there is none.
func (p *fastParser) key(i int) (foundKey, bool) {
	var n *yaml.Node
	j := i
	switch p.src[i] {
	case '\'', '"':
		var ok bool
		if n, j, ok = p.quoted(i); !ok {
			return foundKey{}, false
		}
		for j < p.end && p.src[j] == ' ' {
			j++
		}
		if j == p.end || p.src[j] != ':' {
			return foundKey{}, false
		}
	default:
		if !plainStart(p.src, i, p.end) {
			return foundKey{}, false
		}
		for ; j < p.end; j++ {
			c := p.src[j]
			if c == ':' && (j+1 == p.end || p.src[j+1] == ' ') {
				break
			}
			if c == '#' && p.src[j-1] == ' ' {
				return foundKey{}, false
			}
		}
		if j == p.end {
			return foundKey{}, false
		}
		text := strings.TrimRight(p.src[i:j], " ")
		tag, ok := plainTag(text)
		if !ok {
			return foundKey{}, false
		}
		n = p.node(yaml.ScalarNode, 0, tag, text, i)
	}
	if j+1 < p.end && p.src[j+1] != ' ' || j-i > 1000 {
		return foundKey{}, false
	}
	return foundKey{node: n, colon: j}, true
}

// scalarValue reads the scalar or one-line flow collection at offset i of the current
// line, which must end the line.
func (p *fastParser) scalarValue(i, depth int) (*yaml.Node, bool) {
	switch p.src[i] {
	case '[', '{':
		n, j, ok := p.flow(i, depth)
		if !ok || p.restBlank(j) < 0 {
			return nil, false
		}
		return n, true
	case '\'', '"':
		n, j, ok := p.quoted(i)
		if !ok || p.restBlank(j) < 0 {
			return nil, false
		}
		return n, true
	}
	if !plainStart(p.src, i, p.end) {
		return nil, false
	}
	j := i
	for ; j < p.end; j++ {
		c := p.src[j]
		if c == ':' && (j+1 == p.end || p.src[j+1] == ' ') {
			return nil, false // "key: a: b"
		}
		if c == '#' && p.src[j-1] == ' ' {
			break
		}
	}
	text := strings.TrimRight(p.src[i:j], " ")
	tag, ok := plainTag(text)
	if !ok {
		return nil, false
	}
	return p.node(yaml.ScalarNode, 0, tag, text, i), true
}

// plainStart says whether a plain scalar the fast path reads starts at offset i of s (the
// line ending at end): not at an indicator of another kind of node, nor at "-", "?" or ":"
// before a space.
func plainStart(s string, i, end int) bool {
	switch s[i] {
	case '[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '?', ':':
		return false
	case '-':
		return i+1 < end && s[i+1] != ' '
	}
	return true
}

// quoted reads the single- or double-quoted scalar at offset i, which must end on its line,
// and returns it and the offset after its closing quote.
func (p *fastParser) quoted(i int) (*yaml.Node, int, bool) {
	q := p.src[i]
	escaped := false
	j := i + 1
	for ; j < p.end; j++ {
		c := p.src[j]
		if c == '\\' && q == '"' {
			return nil, 0, false
		}
		if c == q {
			if q == '\'' && j+1 < p.end && p.src[j+1] == '\'' {
				escaped = true
				j++
				continue
			}
			break
		}
	}
	if j == p.end {
		return nil, 0, false // over several lines, or not closed
	}
	value := p.src[i+1 : j]
	style := yaml.DoubleQuotedStyle
	if q == '\'' {
		style = yaml.SingleQuotedStyle
		if escaped {
			value = strings.ReplaceAll(value, "''", "'")
		}
	}
	return p.node(yaml.ScalarNode, style, tagStr, value, i), j + 1, true
}

// plainTag returns the tag yaml.v3 resolves a plain scalar to, or false for those the
// fast path leaves to yaml.v3 (the merge key "<<").
func plainTag(s string) (string, bool) {
	switch s {
	case "":
		return tagNull, true
	case "<<":
		return "", false
	}
	h := hint(s[0])
	if h == 0 {
		return tagStr, true
	}
	switch s {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return tagBool, true
	case "~", "null", "Null", "NULL":
		return tagNull, true
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return tagFloat, true
	}
	switch h {
	case '.':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return tagFloat, true
		}
	case 'D', 'S':
		if isTimestamp(s) {
			return tagTimestamp, true
		}
		plain := strings.ReplaceAll(s, "_", "")
		if !numberChars(plain) {
			break
		}
		if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return tagInt, true
		}
		if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return tagInt, true
		}
		if yamlStyleFloat.MatchString(plain) {
			if _, err := strconv.ParseFloat(plain, 64); err == nil {
				return tagFloat, true
			}
		}
		for _, prefix := range [...]struct {
			text string
			base int
		}{{"0b", 2}, {"0o", 8}} {
			if rest, ok := strings.CutPrefix(plain, prefix.text); ok {
				if _, err := strconv.ParseInt(rest, prefix.base, 64); err == nil {
					return tagInt, true
				}
				if _, err := strconv.ParseUint(rest, prefix.base, 64); err == nil {
					return tagInt, true
				}
			} else if rest, ok := strings.CutPrefix(plain, "-"+prefix.text); ok {
				if _, err := strconv.ParseInt("-"+rest, prefix.base, 64); err == nil {
					return tagInt, true
				}
			}
		}
	}
	return tagStr, true
}

// flow reads the flow collection at offset i of the current line, "[a, b]" or "{a: b, c: d}",
// and returns it and the offset after it. It reads only collections on one line, without a
// trailing comma, empty entries or collections as keys, whose plain scalars hold no ':' or
// '#'.
func (p *fastParser) flow(i, depth int) (*yaml.Node, int, bool) {
	if depth > maxFastDepth {
		return nil, 0, false
	}
	kind, tag, closing := yaml.SequenceNode, "!!seq", byte(']')
	if p.src[i] == '{' {
		kind, tag, closing = yaml.MappingNode, "!!map", '}'
	}
	n := p.node(kind, yaml.FlowStyle, tag, "", i)
	base := len(p.stack)
	j := p.flowSpace(i + 1)
	if j < p.end && p.src[j] == closing {
		p.collect(n, base)
		return n, j + 1, true
	}
	for {
		item, next, ok := p.flowScalar(j, depth, kind == yaml.MappingNode)
		if !ok {
			return nil, 0, false
		}
		p.stack = append(p.stack, item)
		j = next
		if kind == yaml.MappingNode {
			// ": " and the value.
			if j+1 >= p.end || p.src[j] != ':' || p.src[j+1] != ' ' {
				return nil, 0, false
			}
			if item, j, ok = p.flowScalar(p.flowSpace(j+1), depth, false); !ok {
				return nil, 0, false
			}
			p.stack = append(p.stack, item)
		}
		if j == p.end {
			return nil, 0, false
		}
		if p.src[j] == closing {
			break
		}
		if p.src[j] != ',' {
			return nil, 0, false
		}
		j = p.flowSpace(j + 1)
	}
	if kind == yaml.MappingNode && !p.uniqueKeys(p.stack[base:]) {
		return nil, 0, false
	}
	p.collect(n, base)
	return n, j + 1, true
}

// flowSpace returns the offset of the first byte from i on the current line that is not a
// space (or the end of the line).
func (p *fastParser) flowSpace(i int) int {
	for i < p.end && p.src[i] == ' ' {
		i++
	}
	return i
}

// flowScalar reads the node at offset i of a flow collection, a scalar or (unless it is a
// mapping key, key) a flow collection, and returns it and the offset of what follows it and
// the spaces after it.
func (p *fastParser) flowScalar(i, depth int, key bool) (*yaml.Node, int, bool) {
	if i == p.end {
		return nil, 0, false
	}
	switch c := p.src[i]; {
	case c == '\'' || c == '"':
		n, j, ok := p.quoted(i)
		return n, p.flowSpace(j), ok
	case (c == '[' || c == '{') && !key:
		n, j, ok := p.flow(i, depth+1)
		return n, p.flowSpace(j), ok
	}
	if !plainStart(p.src, i, p.end) {
		return nil, 0, false
	}
	j := i
	for ; j < p.end; j++ {
		switch p.src[j] {
		case ':':
			if !key || j+1 == p.end || p.src[j+1] != ' ' || j-i > 1000 {
				return nil, 0, false
			}
			fallthrough
		case ',', '[', ']', '{', '}':
			text := strings.TrimRight(p.src[i:j], " ")
			tag, ok := plainTag(text)
			if !ok {
				return nil, 0, false
			}
			return p.node(yaml.ScalarNode, 0, tag, text, i), j, true
		case '#', '\'', '"', '?':
			return nil, 0, false // '?' ends a plain scalar in a flow collection
		}
	}
	return nil, 0, false
}
