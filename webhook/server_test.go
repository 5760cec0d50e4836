package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/sctpguard/sctpguard/policy"
)

// testServer starts a Server with a fresh certificate for 127.0.0.1 and the validating
// handler, and returns a client that trusts it.
func testServer(t *testing.T, o ServerOptions) (*Server, *http.Client) {
	t.Helper()
	cfg := CertConfig{IPs: []net.IP{net.ParseIP("127.0.0.1")}, CAValidity: time.Hour, CertValidity: time.Hour}
	now := time.Now()
	ca, err := cfg.newCA(now)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := cfg.newServing(ca, nil, cfg.IPs, now)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{serving.Cert.Raw}, PrivateKey: serving.Key, Leaf: serving.Cert}
	o.Host, o.Port = "127.0.0.1", 0
	o.TLSOpts = []func(*tls.Config){func(c *tls.Config) {
		c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
	}}
	s := NewServer(o, logr.Discard())
	s.Register(ValidatePath, handler(t, Validate, policy.Config{}, npl))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	for s.Addr() == "" {
		time.Sleep(10 * time.Millisecond)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return s, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// slowClient opens a TLS connection and sends a request's headers one byte at a time, every
// interval; it returns when the server closes the connection, with how long it held on.
func slowClient(t *testing.T, addr string, interval time.Duration) time.Duration {
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Error(err)
		return 0
	}
	defer func() { _ = conn.Close() }()
	start := time.Now()
	req := []byte("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
	for i := 0; ; i++ {
		b := req[i%len(req)]
		if _, err := conn.Write([]byte{b}); err != nil {
			return time.Since(start)
		}
		if time.Since(start) > 30*time.Second {
			t.Error("a slow client was held for 30 s")
			return time.Since(start)
		}
		time.Sleep(interval)
	}
}

// TestServerSlowClients: connections that trickle a request are cut after the read timeout
// (not held for minutes, as controller-runtime's server held them), while a real request is
// answered; with every connection slot taken by slow clients, a real request waits only until
// they are cut.
func TestServerSlowClients(t *testing.T) {
	const readTimeout = time.Second
	s, client := testServer(t, ServerOptions{ReadTimeout: readTimeout, WriteTimeout: 2 * time.Second, MaxConnections: 20})
	var wg sync.WaitGroup
	held := make([]time.Duration, 20)
	for i := range held {
		wg.Go(func() { held[i] = slowClient(t, s.Addr(), 100*time.Millisecond) })
	}
	time.Sleep(200 * time.Millisecond) // the slow clients take every slot
	resp, err := client.Post("https://"+s.Addr()+ValidatePath, "application/json",
		bytes.NewReader(request(admissionv1.Create, "telco", "alice", amf, "")))
	if err != nil {
		t.Fatalf("a real request behind 20 slow clients: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"allowed":false`)) {
		t.Errorf("real request: %s %s", resp.Status, body)
	}
	wg.Wait()
	for i, d := range held {
		// The bound is generous (a loaded machine), and far from the minutes it was.
		if d == 0 || d > 10*readTimeout {
			t.Errorf("slow client %d was held %v; the read timeout is %v", i, d, readTimeout)
		}
	}
}

// TestServerRequestDeadline: the handler's context ends before the timeout the API server
// puts in the URL, and before the write timeout.
func TestServerRequestDeadline(t *testing.T) {
	s := NewServer(ServerOptions{WriteTimeout: 2 * time.Second}, logr.Discard())
	for url, want := range map[string]time.Duration{
		"/validate?timeout=1s":  time.Second - handlerMargin,
		"/validate?timeout=10s": 2*time.Second - handlerMargin,
		"/validate":             2*time.Second - handlerMargin,
	} {
		var got time.Duration
		h := s.deadline(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			d, ok := r.Context().Deadline()
			if !ok {
				t.Errorf("%s: no deadline", url)
			}
			got = time.Until(d)
		}))
		r, _ := http.NewRequest(http.MethodPost, url, nil)
		h.ServeHTTP(nil, r)
		if got > want || got < want-time.Second {
			t.Errorf("%s: deadline in %v, want about %v", url, got, want)
		}
	}
}
