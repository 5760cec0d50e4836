package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/net/netutil"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// Defaults of the webhook server. The API server gives a webhook call timeoutSeconds (3 in
// sctpguard's configurations, 1 at least); reading a request and writing its answer are bounded
// well under that, so a client that sends slowly holds a connection for seconds, not minutes.
const (
	DefaultReadTimeout     = 2 * time.Second
	DefaultWriteTimeout    = 2 * time.Second
	DefaultIdleTimeout     = 90 * time.Second
	DefaultMaxConnections  = 256
	DefaultShutdownTimeout = 30 * time.Second
)

// handlerMargin is kept between the handler's deadline and the write timeout, for writing.
const handlerMargin = 250 * time.Millisecond

// ServerOptions place and bound the webhook server.
type ServerOptions struct {
	Host string
	Port int
	// CertDir, CertName and KeyName are the serving certificate, reloaded when it changes;
	// unused when a TLSOpts function sets GetCertificate.
	CertDir, CertName, KeyName string
	TLSOpts                    []func(*tls.Config)
	// ReadTimeout bounds reading a request, headers and body (per stream on HTTP/2);
	// WriteTimeout bounds judging it and writing the answer. The handler's context ends
	// before WriteTimeout, and before the timeout the API server puts in the request's URL.
	ReadTimeout, WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection left unused.
	IdleTimeout time.Duration
	// MaxConnections bounds the connections served at once; more wait to be accepted.
	MaxConnections int
	// ShutdownTimeout bounds the wait for requests in flight when the server stops.
	ShutdownTimeout time.Duration
}

// Server is the webhook server. It replaces controller-runtime's, which sets no read or write
// timeout and no connection bound (its http.Server has a 32-second header timeout only), so
// 500 connections sending a byte every 5 seconds held it for minutes. It serves HTTP/2 and
// HTTP/1.1 over TLS, and stops gracefully: HTTP/2 clients get a GOAWAY and reconnect elsewhere.
type Server struct {
	o       ServerOptions
	mux     *http.ServeMux
	log     logr.Logger
	started atomic.Bool
	addr    atomic.Pointer[string]
}

var _ crwebhook.Server = (*Server)(nil)

// NewServer returns a server with the options, zero values taking the defaults.
func NewServer(o ServerOptions, log logr.Logger) *Server {
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	return &Server{o: o, mux: http.NewServeMux(), log: log}
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every replica serves.
func (s *Server) NeedLeaderElection() bool { return false }

// Register serves hook at path.
func (s *Server) Register(path string, hook http.Handler) { s.mux.Handle(path, hook) }

// WebhookMux returns the server's mux.
func (s *Server) WebhookMux() *http.ServeMux { return s.mux }

// Addr is the address the server listens on, once started.
func (s *Server) Addr() string {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// Start serves until ctx is done, then stops accepting, lets requests in flight finish
// (within ShutdownTimeout) and closes the connections.
func (s *Server) Start(ctx context.Context) error {
	cfg := &tls.Config{NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	for _, opt := range s.o.TLSOpts {
		opt(cfg)
	}
	if cfg.GetCertificate == nil {
		w, err := certwatcher.New(filepath.Join(s.o.CertDir, s.o.CertName), filepath.Join(s.o.CertDir, s.o.KeyName))
		if err != nil {
			return fmt.Errorf("load the serving certificate: %w", err)
		}
		cfg.GetCertificate = w.GetCertificate
		go func() {
			if err := w.Start(ctx); err != nil {
				s.log.Error(err, "certificate watcher stopped")
			}
		}()
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.o.Host, strconv.Itoa(s.o.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()
	s.addr.Store(&addr)
	ln = tls.NewListener(netutil.LimitListener(ln, s.o.MaxConnections), cfg)
	srv := &http.Server{
		Handler:           s.deadline(s.mux),
		ReadHeaderTimeout: s.o.ReadTimeout,
		ReadTimeout:       s.o.ReadTimeout,
		WriteTimeout:      s.o.WriteTimeout,
		IdleTimeout:       s.o.IdleTimeout,
		MaxHeaderBytes:    1 << 20,
		// Slow and malformed clients are theirs to worry about, not a log line each.
		ErrorLog: log.New(logWriter{s.log.V(1)}, "", 0),
		BaseContext: func(net.Listener) context.Context {
			return context.WithoutCancel(ctx)
		},
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		s.log.Info("stopping the webhook server: requests in flight finish", "timeout", s.o.ShutdownTimeout)
		// ctx has ended: the wait for requests in flight needs a context of its own.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			s.log.Error(err, "webhook server shutdown")
		}
	}()
	s.started.Store(true)
	s.log.Info("serving webhooks", "address", addr, "readTimeout", s.o.ReadTimeout, "writeTimeout", s.o.WriteTimeout, "maxConnections", s.o.MaxConnections)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-stopped
	return nil
}

// deadline gives each request a context that ends before the write timeout, and before the
// timeout the API server sets in the request's URL (?timeout=3s), so a slow review ends in an
// answer the API server still reads.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		budget := s.o.WriteTimeout - handlerMargin
		if t, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && t > 0 && t-handlerMargin < budget {
			budget = t - handlerMargin
		}
		ctx, cancel := context.WithTimeout(r.Context(), max(budget, handlerMargin))
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// StartedChecker is a readiness check: the server has started and completes a TLS handshake.
func (s *Server) StartedChecker() healthz.Checker {
	return func(*http.Request) error {
		if !s.started.Load() {
			return errors.New("webhook server has not started yet")
		}
		d := &net.Dialer{Timeout: 5 * time.Second}
		//nolint:gosec // a reachability check of our own server: the certificate is not the point
		conn, err := tls.DialWithDialer(d, "tcp", s.Addr(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return fmt.Errorf("webhook server is not reachable: %w", err)
		}
		return conn.Close()
	}
}

// logWriter sends the http.Server's error log to a logr.Logger.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info(string(p))
	return len(p), nil
}
