package avi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Defaults of Config.
const (
	DefaultTimeout          = 60 * time.Second
	DefaultMaxResponseBytes = 64 << 20
	DefaultAttempts         = 3
	DefaultRetryInterval    = 500 * time.Millisecond
	DefaultTenant           = "admin"
	// PageSize is the page size of every list: the largest the Python SDK allows is 200,
	// and the server's default is unknown.
	PageSize = 100
)

// Session cookie names: older controllers use sessionid, newer ones avi-sessionid.
const (
	cookieCSRF        = "csrftoken"
	cookieSession     = "avi-sessionid"
	cookieSessionOld  = "sessionid"
	headerAPIVersion  = "X-Avi-Version"
	headerTenant      = "X-Avi-Tenant"
	headerCSRF        = "X-CSRFToken"
	statusSessionGone = 419
)

// Credentials log in to the controller.
type Credentials struct {
	Username string
	Password string
}

// Config configures a Client.
type Config struct {
	// Host is the controller: "host", "host:port", "[v6]:port" or "https://host[:port]".
	Host string
	// Credentials returns the username and password; it is called at every login, so a
	// rotated Secret is picked up at the next one.
	Credentials func() (Credentials, error)
	// Tenant is the tenant name of every request (X-Avi-Tenant); default "admin".
	Tenant string
	// APIVersion is sent as X-Avi-Version on every request; default and minimum 22.1.3.
	APIVersion string
	// CAData is a PEM bundle the controller's certificate is verified against; empty means
	// the system roots. InsecureSkipVerify turns verification off, explicitly.
	CAData             []byte
	InsecureSkipVerify bool
	// BasicAuth sends the credentials on every request instead of logging in. The controller
	// allows it only when its portal configuration does.
	BasicAuth bool
	// Timeout bounds one HTTP attempt; default 60 s.
	Timeout time.Duration
	// MaxResponseBytes bounds a response body; default 64 MiB.
	MaxResponseBytes int64
	// Attempts and RetryInterval govern retries of transport errors and 502, 503 and 504:
	// default 3 attempts, 500 ms apart, as the Go SDK does.
	Attempts      int
	RetryInterval time.Duration
	// Observe, when set, is called after every HTTP exchange (for metrics). Status is 0 for
	// a transport error.
	Observe func(method, objectType string, status int, d time.Duration)
	Log     logr.Logger
}

// Client talks to one Avi Controller. It is safe for concurrent use: requests share one
// session, and a lapsed session is renewed once for all of them.
type Client struct {
	cfg     Config
	base    *url.URL
	referer string
	http    *http.Client

	mu         sync.Mutex
	loginMu    sync.Mutex
	csrf       string
	session    string
	generation uint64
	version    string
	idle       time.Duration
}

// NewClient checks the configuration and returns a client; it does not connect.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Host == "" {
		return nil, errors.New("avi: controller host is required")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("avi: credentials are required")
	}
	base, err := baseURL(cfg.Host)
	if err != nil {
		return nil, err
	}
	if cfg.Tenant == "" {
		cfg.Tenant = DefaultTenant
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = MinSCTPVersion
	}
	if c, err := CompareVersions(cfg.APIVersion, MinSCTPVersion); err != nil {
		return nil, fmt.Errorf("avi: API version: %w", err)
	} else if c < 0 {
		return nil, fmt.Errorf("avi: API version %s is below %s, the first with SCTP", cfg.APIVersion, MinSCTPVersion)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // explicit opt-in
	if len(cfg.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAData) {
			return nil, errors.New("avi: the CA bundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.Proxy = http.ProxyFromEnvironment
	return &Client{
		cfg:     cfg,
		base:    base,
		referer: base.String() + "/",
		// Redirects are not followed: the controller answers what it means.
		http: &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}, nil
}

// baseURL parses the host setting into https://host[:port].
func baseURL(host string) (*url.URL, error) {
	h := strings.TrimSuffix(strings.TrimSpace(host), "/")
	if !strings.Contains(h, "://") {
		// A bare IPv6 address needs brackets to take a port.
		if ip := net.ParseIP(h); ip != nil && strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		h = "https://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return nil, fmt.Errorf("avi: controller host %q: %w", host, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("avi: controller host %q: only https is supported", host)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("avi: controller host %q: want host[:port]", host)
	}
	u.Path = ""
	return u, nil
}

// LoginInfo is what a login reports.
type LoginInfo struct {
	// ControllerVersion is version.Version of the login answer, e.g. "22.1.3".
	ControllerVersion string
	// IdleTimeout is how long the session lives without a request: the login answer's
	// controller.api_idle_timeout (minutes), 15 minutes when it does not say (avi-rest.md §1.5).
	IdleTimeout time.Duration
}

// DefaultIdleTimeout is the controller's default api_idle_timeout.
const DefaultIdleTimeout = 15 * time.Minute

// Login opens a session (or, under basic authentication, reads the controller version).
// Requests log in by themselves when needed; calling Login first surfaces bad credentials
// and an unreachable controller early.
func (c *Client) Login(ctx context.Context) (LoginInfo, error) {
	c.mu.Lock()
	gen := c.generation
	c.mu.Unlock()
	if err := c.login(ctx, gen); err != nil {
		return LoginInfo{}, err
	}
	return c.info(), nil
}

// Session returns the session in force, logging in only when there is none: a real
// controller caps the sessions a user may hold, so one session is reused until it lapses
// (a request answered 401 logs in again) and ended with Logout.
func (c *Client) Session(ctx context.Context) (LoginInfo, error) {
	c.mu.Lock()
	established := c.version != "" && (c.cfg.BasicAuth || c.session != "")
	c.mu.Unlock()
	if established {
		return c.info(), nil
	}
	return c.Login(ctx)
}

func (c *Client) info() LoginInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	idle := c.idle
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	return LoginInfo{ControllerVersion: c.version, IdleTimeout: idle}
}

// ControllerVersion returns the version the controller reported at the last login,
// logging in first when there was none.
func (c *Client) ControllerVersion(ctx context.Context) (string, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != "" {
		return v, nil
	}
	info, err := c.Login(ctx)
	return info.ControllerVersion, err
}

// login logs in unless another request already renewed the session since generation gen.
func (c *Client) login(ctx context.Context, gen uint64) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	renewed := c.generation != gen && c.version != ""
	c.mu.Unlock()
	if renewed {
		return nil
	}
	if c.cfg.BasicAuth {
		return c.readVersion(ctx)
	}
	creds, err := c.cfg.Credentials()
	if err != nil {
		return fmt.Errorf("avi: credentials: %w", err)
	}
	c.mu.Lock()
	c.csrf, c.session = "", ""
	c.mu.Unlock()
	body, err := json.Marshal(map[string]string{"username": creds.Username, "password": creds.Password})
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, http.MethodPost, "/login", nil, body, false)
	if err != nil {
		return fmt.Errorf("avi: login: %w", err)
	}
	if resp.status != http.StatusOK {
		return fmt.Errorf("avi: login as %s: %w", creds.Username, resp.err(http.MethodPost, "/login"))
	}
	version, err := versionOf(resp.body)
	if err != nil {
		return fmt.Errorf("avi: login: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.csrf == "" || c.session == "" {
		return errors.New("avi: login: the controller set no csrftoken and session cookies")
	}
	c.version = version
	c.idle = idleTimeoutOf(resp.body)
	c.generation++
	c.cfg.Log.V(1).Info("logged in", "controller", c.base.Host, "version", c.version, "user", creds.Username)
	return nil
}

// readVersion reads the controller version from /api/initial-data.
func (c *Client) readVersion(ctx context.Context) error {
	resp, err := c.send(ctx, http.MethodGet, "/api/initial-data", nil, nil, true)
	if err != nil {
		return fmt.Errorf("avi: read initial-data: %w", err)
	}
	if resp.status != http.StatusOK {
		return fmt.Errorf("avi: read initial-data: %w", resp.err(http.MethodGet, "/api/initial-data"))
	}
	version, err := versionOf(resp.body)
	if err != nil {
		return fmt.Errorf("avi: read initial-data: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = version
	c.generation++
	return nil
}

// versionOf reads version.Version from a login or initial-data answer.
func versionOf(body []byte) (string, error) {
	var info struct {
		Version struct {
			Version string `json:"Version"`
		} `json:"version"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return "", fmt.Errorf("answer is not JSON: %w", err)
	}
	if info.Version.Version == "" {
		return "", errors.New("the answer names no version.Version")
	}
	return info.Version.Version, nil
}

// idleTimeoutOf reads controller.api_idle_timeout (minutes) from a login answer; 0 when it
// is absent.
func idleTimeoutOf(body []byte) time.Duration {
	var info struct {
		Controller struct {
			APIIdleTimeout float64 `json:"api_idle_timeout"`
		} `json:"controller"`
	}
	if json.Unmarshal(body, &info) != nil || info.Controller.APIIdleTimeout <= 0 {
		return 0
	}
	return time.Duration(info.Controller.APIIdleTimeout * float64(time.Minute))
}

// Logout ends the session; it is sent at shutdown.
func (c *Client) Logout(ctx context.Context) error {
	c.mu.Lock()
	active := c.session != ""
	c.mu.Unlock()
	if !active || c.cfg.BasicAuth {
		return nil
	}
	// One attempt: the logout is a courtesy at shutdown, which a controller that is down
	// must not hold up.
	resp, err := c.exchange(ctx, http.MethodPost, "/logout", nil, nil, true)
	c.mu.Lock()
	c.session, c.csrf = "", ""
	c.generation++
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("avi: logout: %w", err)
	}
	if resp.status >= 300 {
		return fmt.Errorf("avi: logout: %w", resp.err(http.MethodPost, "/logout"))
	}
	return nil
}

// Get reads one object by uuid.
func (c *Client) Get(ctx context.Context, typ, uuid string, query url.Values) (Object, error) {
	body, err := c.do(ctx, http.MethodGet, "/api/"+typ+"/"+uuid, query, nil)
	if err != nil {
		return nil, err
	}
	return decodeObject(body)
}

// List reads every object of a type matching the query, following the pages.
func (c *Client) List(ctx context.Context, typ string, query url.Values) ([]Object, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	if q.Get("page_size") == "" {
		q.Set("page_size", strconv.Itoa(PageSize))
	}
	path := "/api/" + typ
	var out []Object
	for page := 0; ; page++ {
		body, err := c.do(ctx, http.MethodGet, path, q, nil)
		if err != nil {
			return nil, err
		}
		var list struct {
			Count   int               `json:"count"`
			Results []json.RawMessage `json:"results"`
			Next    string            `json:"next"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, fmt.Errorf("list %s: answer is not a list: %w", typ, err)
		}
		for _, r := range list.Results {
			o, err := decodeObject(r)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", typ, err)
			}
			out = append(out, o)
		}
		if list.Next == "" || len(list.Results) == 0 {
			return out, nil
		}
		if page > list.Count/max(len(list.Results), 1)+1 {
			return nil, fmt.Errorf("list %s: the controller keeps answering next pages", typ)
		}
		// Re-issue next against our own base URL: its host may differ from ours.
		i := strings.Index(list.Next, "/api/")
		if i < 0 {
			return nil, fmt.Errorf("list %s: next page %q is not an /api/ URL", typ, list.Next)
		}
		u, err := url.Parse(list.Next[i:])
		if err != nil {
			return nil, fmt.Errorf("list %s: next page %q: %w", typ, list.Next, err)
		}
		path, q = u.Path, u.Query()
	}
}

// GetByName reads the object of a type with that name in the client's tenant; it returns
// nil when there is none.
func (c *Client) GetByName(ctx context.Context, typ, name string, query url.Values) (Object, error) {
	q := url.Values{"name": {name}}
	for k, v := range query {
		q[k] = v
	}
	objs, err := c.List(ctx, typ, q)
	if err != nil {
		return nil, err
	}
	switch len(objs) {
	case 0:
		return nil, nil
	case 1:
		return objs[0], nil
	default:
		return nil, fmt.Errorf("get %s %s: %d objects have that name", typ, name, len(objs))
	}
}

// Create POSTs a new object and returns it as stored.
func (c *Client) Create(ctx context.Context, typ string, obj any) (Object, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	body, err := c.do(ctx, http.MethodPost, "/api/"+typ, nil, data)
	if err != nil {
		return nil, err
	}
	return decodeObject(body)
}

// Update PUTs the full object and returns it as stored.
func (c *Client) Update(ctx context.Context, typ, uuid string, obj any) (Object, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	body, err := c.do(ctx, http.MethodPut, "/api/"+typ+"/"+uuid, nil, data)
	if err != nil {
		return nil, err
	}
	return decodeObject(body)
}

// Delete deletes an object. A 404 is returned as an error; callers that treat a missing
// object as deleted check IsNotFound.
func (c *Client) Delete(ctx context.Context, typ, uuid string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/"+typ+"/"+uuid, nil, nil)
	return err
}

// SystemConfiguration reads the singleton system configuration.
func (c *Client) SystemConfiguration(ctx context.Context) (SystemConfiguration, error) {
	var sc SystemConfiguration
	body, err := c.do(ctx, http.MethodGet, "/api/"+TypeSystemConfiguration, nil, nil)
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(body, &sc); err != nil {
		return sc, fmt.Errorf("read systemconfiguration: %w", err)
	}
	return sc, nil
}

// do sends an API request with the session, logging in first when there is none and once
// more when the controller says the session lapsed (401 or 419).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		gen, established := c.generation, c.version != "" && (c.cfg.BasicAuth || c.session != "")
		c.mu.Unlock()
		if !established {
			if err := c.login(ctx, gen); err != nil {
				return nil, err
			}
			c.mu.Lock()
			gen = c.generation
			c.mu.Unlock()
		}
		resp, err := c.send(ctx, method, path, query, body, true)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		if (resp.status == http.StatusUnauthorized || resp.status == statusSessionGone) && attempt == 0 && !c.cfg.BasicAuth {
			c.cfg.Log.V(1).Info("session lapsed, logging in again", "method", method, "path", path, "status", resp.status)
			if err := c.login(ctx, gen); err != nil {
				return nil, err
			}
			continue
		}
		if resp.status < 200 || resp.status >= 300 {
			return nil, resp.err(method, path)
		}
		return resp.body, nil
	}
}

type response struct {
	status int
	body   []byte
}

func (r *response) err(method, path string) *APIError {
	e := &APIError{Status: r.status, Method: method, Path: path, RawBody: r.body}
	var msg struct {
		Error   string `json:"error"`
		ObjName string `json:"obj_name"`
	}
	if json.Unmarshal(r.body, &msg) == nil && msg.Error != "" {
		e.Message, e.ObjName = msg.Error, msg.ObjName
	} else {
		e.Message = strings.TrimSpace(string(r.body))
	}
	return e
}

// send makes one exchange, retrying transport errors and 502, 503 and 504 up to Attempts
// times, RetryInterval apart. POSTs are retried too: a create that did land answers 409 on
// the retry, and the translator adopts the object.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, authenticated bool) (*response, error) {
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.exchange(ctx, method, path, query, body, authenticated)
		retry := err != nil || resp.status == http.StatusBadGateway || resp.status == http.StatusServiceUnavailable || resp.status == http.StatusGatewayTimeout
		if !retry {
			return resp, nil
		}
		if err != nil {
			lastErr = err
		}
		if attempt >= c.cfg.Attempts || ctx.Err() != nil {
			if err != nil {
				return nil, lastErr
			}
			return resp, nil
		}
		c.cfg.Log.V(1).Info("retrying", "method", method, "path", path, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.cfg.RetryInterval):
		}
	}
}

// exchange makes one HTTP exchange within the per-request timeout and reads the bounded body.
func (c *Client) exchange(ctx context.Context, method, path string, query url.Values, body []byte, authenticated bool) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := *c.base
	u.Path = path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	c.setHeaders(req, authenticated)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(method, path, 0, start)
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	c.observe(method, path, resp.StatusCode, start)
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if int64(len(data)) > c.cfg.MaxResponseBytes {
		return nil, fmt.Errorf("answer is larger than %d bytes", c.cfg.MaxResponseBytes)
	}
	c.takeCookies(resp)
	return &response{status: resp.StatusCode, body: data}, nil
}

func (c *Client) setHeaders(req *http.Request, authenticated bool) {
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set(headerAPIVersion, c.cfg.APIVersion)
	h.Set(headerTenant, c.cfg.Tenant)
	h.Set("Referer", c.referer)
	h.Set("X-Avi-UserAgent", "sctpguard")
	if !authenticated {
		return
	}
	if c.cfg.BasicAuth {
		// Credentials errors surface at login (readVersion); here they only leave the header off.
		if creds, err := c.cfg.Credentials(); err == nil {
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(creds.Username+":"+creds.Password)))
		}
		return
	}
	c.mu.Lock()
	csrf, session := c.csrf, c.session
	c.mu.Unlock()
	if session == "" {
		return
	}
	// Both session cookie names, for old and new controllers; the CSRF header on every
	// request, GETs included, as the spec's open points advise.
	h.Set("Cookie", fmt.Sprintf("%s=%s; %s=%s; %s=%s", cookieCSRF, csrf, cookieSession, session, cookieSessionOld, session))
	h.Set(headerCSRF, csrf)
}

// takeCookies keeps the session cookies a response sets: the login's, and the refreshed
// (sliding) ones of every authenticated answer.
func (c *Client) takeCookies(resp *http.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ck := range resp.Cookies() {
		switch ck.Name {
		case cookieCSRF:
			c.csrf = ck.Value
		case cookieSession, cookieSessionOld:
			if ck.MaxAge < 0 || ck.Value == "" {
				continue
			}
			c.session = ck.Value
		}
	}
}

func (c *Client) observe(method, path string, status int, start time.Time) {
	if c.cfg.Observe == nil {
		return
	}
	typ := strings.TrimPrefix(path, "/api/")
	typ, _, _ = strings.Cut(typ, "/")
	c.cfg.Observe(method, typ, status, time.Since(start))
}
