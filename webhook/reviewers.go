package webhook

import (
	"runtime"
	"sync"
)

// reviewers runs the reviews on goroutines that outlive them. A review on a fresh goroutine
// starts from the minimum stack and grows it, copying it at every doubling, to the depth the
// rules and the Rego evaluator need: that costs more than the review's own glue. A few
// long-lived goroutines keep the stack they grew, as gRPC-go's server workers
// (ServerOption NumStreamWorkers) do for the same reason. The handler's own goroutine is a
// fresh one per request too (net/http's HTTP/2 server starts one per stream): a review run
// inline on it cost more CPU under load than the hand-off (loadbench, 20 user policies:
// 696-723 µs per request inline, 546-587 µs here). When every one is busy, a review
// runs on a fresh goroutine at once rather than wait in a queue: the pool saves work, it
// never delays a verdict. The runtime shrinks an idle worker's stack at garbage collection,
// so one huge review does not keep its stack for good.
type reviewers struct {
	once  sync.Once
	tasks chan func()
}

// run runs f on an idle worker, or on a new goroutine when none is idle.
func (p *reviewers) run(f func()) {
	p.once.Do(func() {
		p.tasks = make(chan func())
		for range runtime.GOMAXPROCS(0) {
			go func() {
				for f := range p.tasks {
					f()
				}
			}()
		}
	})
	select {
	case p.tasks <- f:
	default:
		go f()
	}
}
