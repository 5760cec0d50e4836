package avisim

import (
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sctpguard/sctpguard/test/avisim/schema"
)

// Options configure a Server. The zero value gives a 22.1.3 Enterprise controller with user
// admin/admin, session authentication and VIPs from 10.250.250.1.
type Options struct {
	// Version is the controller version (login body version.Version). Default "22.1.3".
	Version string
	// License is systemconfiguration.default_license_tier. Default "ENTERPRISE".
	License string
	// Username and Password are the one user's credentials. Default "admin" and "admin".
	Username, Password string
	// BasicAuth sets portal_configuration.allow_basic_authentication (avi-rest.md §1.6).
	BasicAuth bool
	// RequireReferer makes POST, PUT, PATCH and DELETE under session auth need a Referer
	// header (inferred, §10.8).
	RequireReferer bool
	// DanglingRefStatus is the status of "<Model> object not found!" for a ref that does not
	// resolve: 400 (default) or 404 (avi-rest.md §4).
	DanglingRefStatus int
	// VIPRange is where IPv4 VIPs are allocated. Default 10.250.250.1 to 10.250.255.254.
	VIPRange AddrRange
	// VIP6Range is where IPv6 VIPs are allocated (inferred). Default fd00:10:250::1 to
	// fd00:10:250::ffff.
	VIP6Range AddrRange
	// Clock drives _last_modified, session expiry and token expiry. Default time.Now.
	Clock func() time.Time
	// NewUUID returns the uuid4 part of new uuids ("<type>-" is prepended). Default random.
	NewUUID func() string
	// Logf, when set, gets one line per request.
	Logf func(format string, args ...any)
}

// AddrRange is an inclusive range of addresses of one family.
type AddrRange struct {
	First, Last netip.Addr
}

// Match selects requests for a fault. Empty fields match anything. Type is the path segment
// after /api/ ("pool", "cluster", "user-token"), or "login"/"logout". Name is the body's name
// on POST, the stored object's name for /api/<type>/<uuid>, and the name query parameter on a
// list.
type Match struct {
	Method, Type, Name string
}

// Request is one journal entry.
type Request struct {
	Method string
	Path   string // normalised: no repeated or trailing "/"
	Query  string // raw query
	// Header holds the request's X-Avi-* headers.
	Header http.Header
	Body   string
	Status int // 0 when the connection was dropped
}

// IsWrite reports whether the request was a POST, PUT, PATCH or DELETE under /api/.
func (r Request) IsWrite() bool {
	return strings.HasPrefix(r.Path, "/api/") && r.Method != http.MethodGet && r.Method != http.MethodHead &&
		r.Method != http.MethodOptions
}

type fault struct {
	match  Match
	left   int
	drop   bool
	status int
	body   string
}

// Server is the fake controller: one plain http.Handler (never http.ServeMux, which answers
// "//api/..." with a redirect that turns a POST into a GET, avi-rest.md §10.1). All its
// methods are safe for concurrent use.
type Server struct {
	opts Options
	pub  *schema.Schema // the controller's published object schema

	mu            sync.Mutex // guards everything below
	version       string
	license       string
	basicAuth     bool
	clusterStatus int
	upgrade       bool
	delay         time.Duration
	answer419     bool
	faults        []*fault
	sessions      map[string]*session
	tokens        map[string]time.Time
	logins        int
	journal       []Request
	host          string // for Objects/Object; set by StartTLS
	lastModified  int64
	st            store
	vip4, vip6    allocator
	subnetAllocs  map[AddrRange]*allocator // allocators of requested or configured subnets
	holders       map[netip.Addr]*object   // VIP → the VsVip holding it
}

// New returns a Server with the system objects of avi-rest.md §8 loaded in tenant admin.
func New(opts Options) *Server {
	if opts.Version == "" {
		opts.Version = "22.1.3"
	}
	if opts.License == "" {
		opts.License = "ENTERPRISE"
	}
	if opts.Username == "" {
		opts.Username = "admin"
	}
	if opts.Password == "" {
		opts.Password = "admin"
	}
	if opts.DanglingRefStatus == 0 {
		opts.DanglingRefStatus = http.StatusBadRequest
	}
	if !opts.VIPRange.First.IsValid() {
		opts.VIPRange = AddrRange{netip.MustParseAddr("10.250.250.1"), netip.MustParseAddr("10.250.255.254")}
	}
	if !opts.VIP6Range.First.IsValid() {
		opts.VIP6Range = AddrRange{netip.MustParseAddr("fd00:10:250::1"), netip.MustParseAddr("fd00:10:250::ffff")}
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.NewUUID == nil {
		opts.NewUUID = randomUUID
	}
	pub, err := schema.Load()
	if err != nil {
		panic("avisim: " + err.Error()) // the data is embedded: only a broken build gets here
	}
	s := &Server{
		opts:          opts,
		pub:           pub,
		version:       opts.Version,
		license:       opts.License,
		basicAuth:     opts.BasicAuth,
		clusterStatus: http.StatusOK,
		sessions:      map[string]*session{},
		tokens:        map[string]time.Time{},
		host:          "localhost",
		st:            newStore(),
		holders:       map[netip.Addr]*object{},
		subnetAllocs:  map[AddrRange]*allocator{},
	}
	s.vip4.set(opts.VIPRange)
	s.vip6.set(opts.VIP6Range)
	s.loadSystemObjects()
	return s
}

// StartTLS serves s over HTTPS on a loopback port. The certificate is httptest's, valid for
// 127.0.0.1, ::1 and example.com; trust it with ts.Client(), ts.Certificate() or CertPEM(ts).
func (s *Server) StartTLS() *httptest.Server {
	ts, err := s.ListenTLS("127.0.0.1:0")
	if err != nil {
		panic("avisim: " + err.Error())
	}
	return ts
}

// ListenTLS is StartTLS on a given address, for a fake that a separate process talks to.
func (s *Server) ListenTLS(addr string) (*httptest.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	ts := httptest.NewUnstartedServer(s)
	_ = ts.Listener.Close()
	ts.Listener = l
	// TLS handshake failures are expected in tests; send them to Logf, not to stderr.
	ts.Config.ErrorLog = log.New(logWriter{s.opts.Logf}, "", 0)
	ts.StartTLS()
	s.mu.Lock()
	s.host = l.Addr().String()
	s.mu.Unlock()
	return ts, nil
}

// logWriter sends the http.Server's own log lines to Options.Logf, or nowhere.
type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(p []byte) (int, error) {
	if w.logf != nil {
		w.logf("avisim: %s", strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// CertPEM returns the PEM of a TLS httptest server's certificate, to use as the CA bundle of
// a client (for example the certificateAuthorityData of the controller Secret).
func CertPEM(ts *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
}

// WriteCredentials writes the files of the Avi credentials Secret as the chart mounts it
// (username and password of Options' defaults, certificateAuthorityData the server's
// certificate) into dir, for sctpguard serve's --avi-credentials-dir.
func WriteCredentials(dir string, ts *httptest.Server) error {
	for name, value := range map[string][]byte{"username": []byte("admin"), "password": []byte("admin"), "certificateAuthorityData": CertPEM(ts)} {
		if err := os.WriteFile(filepath.Join(dir, name), value, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// randomUUID returns a random version 4 uuid.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// response is built under the lock and written after it is released.
type response struct {
	status int
	header http.Header
	body   []byte
	// beforeView marks an answer the controller gives before its views run (the CSRF 401):
	// it has no Allow header.
	beforeView bool
}

// apiError is an error answer; plain bodies are sent as they are (the CSRF 401).
type apiError struct {
	status  int
	msg     string
	objName string
	plain   bool
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(typ string) *apiError {
	return &apiError{status: http.StatusNotFound, msg: modelName(typ) + " object not found!"}
}

func jsonResponse(status int, v any) *response {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":"avisim: cannot encode the response"}`)
		status = http.StatusInternalServerError
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &response{status: status, header: h, body: b}
}

func (e *apiError) response() *response {
	if e.plain {
		h := http.Header{}
		// The controller labels this plain-text body JSON (avi-rest.md §1.4).
		h.Set("Content-Type", "application/json")
		return &response{status: e.status, header: h, body: []byte(e.msg), beforeView: true}
	}
	body := map[string]any{"error": e.msg}
	if e.objName != "" {
		body["obj_name"] = e.objName
	}
	return jsonResponse(e.status, body)
}

// maxBody bounds a request body.
const maxBody = 16 << 20

// ServeHTTP serves one request: delay, faults, then routing under the store lock.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	c := &call{r: r, path: normalisePath(r.URL.Path), body: body, host: r.Host}
	entry := Request{Method: r.Method, Path: c.path, Query: r.URL.RawQuery, Header: aviHeaders(r.Header), Body: string(body)}

	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.mu.Lock()
			s.record(entry) // the client gave up: status 0
			s.mu.Unlock()
			// Abort rather than return, which would send an empty 200.
			panic(http.ErrAbortHandler)
		}
	}

	s.mu.Lock()
	f := s.takeFault(c)
	var resp *response
	switch {
	case f == nil:
		resp = s.route(c)
	case !f.drop:
		resp = s.faultResponse(c, f)
	}
	if resp != nil {
		entry.Status = resp.status
	}
	// Journalled before the client can see the answer, so a test reads a complete journal.
	s.record(entry)
	s.mu.Unlock()
	if resp == nil {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.status)
	if len(resp.body) > 0 {
		_, _ = w.Write(resp.body)
	}
}

// record appends a journal entry and logs it. It runs under s.mu.
func (s *Server) record(entry Request) {
	s.journal = append(s.journal, entry)
	if s.opts.Logf != nil {
		s.opts.Logf("avisim: %s %s -> %d", entry.Method, entry.Path, entry.Status)
	}
}

func aviHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-avi-") {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

// normalisePath collapses repeated "/" and drops a trailing "/" (avi-rest.md §10.2).
func normalisePath(p string) string {
	var b strings.Builder
	b.Grow(len(p) + 1)
	prevSlash := false
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			if prevSlash {
				continue
			}
			prevSlash = true
		} else {
			prevSlash = false
		}
		b.WriteByte(p[i])
	}
	out := b.String()
	if !strings.HasPrefix(out, "/") {
		out = "/" + out
	}
	if len(out) > 1 {
		out = strings.TrimSuffix(out, "/")
	}
	return out
}
