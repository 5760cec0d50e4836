package cluster

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Endpoints stands in for a Service in front of the replicas, as the kubelet's readiness
// probes, the EndpointSlice controller and kube-proxy make one: it forwards each new TCP
// connection to one of the ready replicas, in turn, and polls each replica's /readyz every
// probe period to know which are ready, as the kubelet probes the chart's pods: a probe times
// out after a second (timeoutSeconds' default), one success makes a replica ready and
// failureThreshold failures in a row (the chart's 2) make it not ready, so one probe slowed by
// a busy node does not take a replica out. An accepted connection stays with its replica until
// either side closes it (as conntrack keeps a flow), so a replica that turns not ready gets
// no new connections but keeps the ones it has, the API server's among them.
type Endpoints struct {
	// URL is https://host:port of the stand-in Service.
	URL string

	ln     net.Listener
	period time.Duration
	mu     sync.Mutex
	all    []*Replica
	ready  map[*Replica]bool
	failed map[*Replica]int
	next   int
	stop   context.CancelFunc
	done   sync.WaitGroup
}

// probeTimeout and failureThreshold are the kubelet's timeoutSeconds default and the chart's
// readinessProbe failureThreshold.
const (
	probeTimeout     = time.Second
	failureThreshold = 2
)

// NewEndpoints listens on a free port of 127.0.0.1 (which the replicas' certificate names)
// and probes replicas every period.
func NewEndpoints(period time.Duration) (*Endpoints, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Endpoints{URL: "https://" + ln.Addr().String(), ln: ln, period: period, ready: map[*Replica]bool{}, failed: map[*Replica]int{}, stop: cancel}
	e.done.Add(2)
	go e.accept()
	go e.probe(ctx)
	return e, nil
}

// Add makes a replica an endpoint; it gets connections once its probe succeeds.
func (e *Endpoints) Add(r *Replica) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, r)
}

// Remove takes a replica out of the endpoints (its pod is gone).
func (e *Endpoints) Remove(r *Replica) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, x := range e.all {
		if x == r {
			e.all = append(e.all[:i], e.all[i+1:]...)
			break
		}
	}
	delete(e.ready, r)
	delete(e.failed, r)
}

// Close stops accepting connections and probing.
func (e *Endpoints) Close() {
	e.stop()
	_ = e.ln.Close()
	e.done.Wait()
}

func (e *Endpoints) probe(ctx context.Context) {
	defer e.done.Done()
	client := &http.Client{Timeout: probeTimeout}
	t := time.NewTicker(e.period)
	defer t.Stop()
	for {
		e.mu.Lock()
		replicas := append([]*Replica(nil), e.all...)
		e.mu.Unlock()
		for _, r := range replicas {
			ok := false
			if resp, err := client.Get(r.HealthURL + "/readyz"); err == nil {
				ok = resp.StatusCode == http.StatusOK
				_ = resp.Body.Close()
			}
			e.mu.Lock()
			if ok {
				e.ready[r], e.failed[r] = true, 0
			} else if e.failed[r]++; e.failed[r] >= failureThreshold {
				e.ready[r] = false
			}
			e.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pick returns the next ready replica, or nil.
func (e *Endpoints) pick() *Replica {
	e.mu.Lock()
	defer e.mu.Unlock()
	for range e.all {
		r := e.all[e.next%len(e.all)]
		e.next++
		if e.ready[r] {
			return r
		}
	}
	return nil
}

func (e *Endpoints) accept() {
	defer e.done.Done()
	for {
		conn, err := e.ln.Accept()
		if err != nil {
			return
		}
		go e.forward(conn)
	}
}

// forward splices a connection to a ready replica; with none ready it is refused, as
// kube-proxy refuses connections to a Service without ready endpoints.
func (e *Endpoints) forward(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	r := e.pick()
	if r == nil {
		return
	}
	_, addr, _ := strings.Cut(r.WebhookURL, "://")
	up, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	defer func() { _ = up.Close() }()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); done <- struct{}{} }()
	<-done
}
