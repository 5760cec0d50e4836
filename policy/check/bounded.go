package check

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// A bounded check reads each input once, decodes each document once, and holds of the set
// what the report needs, not its objects: 100,000 Services in one file would otherwise be
// 100,000 decoded objects held until the last is judged (some 310 MB, as much as kubectl's
// own reader of the file).
//
//  1. judgeAll reads every input, on every core, and judges each object as soon as it is
//     decoded, against a pending inventory (see pending): the set is not read whole yet.
//     An object whose rules look nothing up (a Deployment, a NetworkPolicy, a ConfigMap:
//     most objects of most sets) is then judged for good, and kept only as its findings
//     and a summary to report them (Item.settle). One whose rules did look something up
//     (a Service, a Gateway) waits, held whole, for the inventory to be complete.
//     Meanwhile the objects of related kinds (policy.Related) go into a compact inventory
//     (policy.NewCompactInventory): of each, only what the rules look up.
//  2. The waiting objects are judged against the complete inventory.
//
// The waiting objects are held up to a bound that --memory-limit sets (see heldLimit).
// Beyond it an object is dropped once its inventory entry is taken, and judged in a second
// reading of its input, which decodes the input again; the objects of that input that
// wait are dropped with it, since the second reading judges them too, and make room for
// those of other inputs. Files are read again from disk and
// must not change in between: an input read twice is hashed both times, and one that
// changed is reported as unreadable, its objects unjudged. Standard input cannot be read
// twice: its bytes are held from the first reading to the second, which costs its size
// (at most --max-file-size) and leaves nothing on disk.
//
// What stays is still proportional to the set, but small: the related objects of the
// compact inventory (Gateways and the like whole, of a Service only the fields the rules
// read, and only when it is a Gateway backend or shares a VIP), a summary per object, and
// the findings, which the report needs whole (JSON and JUnit begin with the totals).

// heldObjectBytes is about what an object waiting for the inventory costs to hold: a
// decoded Service or Gateway with the line table of its document.
const heldObjectBytes = 4 << 10

// heldLimit is how many objects a bounded check holds while they wait for the inventory:
// as many as fit in a quarter of --memory-limit (5,600 with the default, all of a set of
// 10,000 manifests of which half are Services and Gateways), or any number without a
// limit. The objects beyond it are read twice.
func (c *checker) heldLimit() int64 {
	switch {
	case c.waitLimit != nil:
		return *c.waitLimit
	case c.o.MemoryLimit == 0:
		return math.MaxInt64
	}
	return c.o.MemoryLimit / 4 / heldObjectBytes
}

// reading is what the first reading of one input learns.
type reading struct {
	// items are the input's objects, in order: judged, waiting, or dropped (the slot is
	// then the item dropped, for the second reading to fill). waiting are the indexes of
	// the items held for the complete inventory; again says the input is read a second
	// time. The decoder appends to items, and the judges set all three, under mu.
	mu      sync.Mutex
	items   []*Item
	waiting []int
	again   bool
	// decodeErrs are the documents that could not be read; reviewErrs the AdmissionReviews
	// whose request could not be read.
	decodeErrs, reviewErrs []*manifest.Error
	// inv holds what the rules look up of the input's objects.
	inv *policy.MemoryInventory
	// refused is the error that refuses the input whole, if any.
	refused *manifest.Error
	// sum is the hash of the file read; held is standard input.
	sum  []byte
	held []byte
}

// dropped fills the slot of an item that the second reading judges.
var dropped = &Item{}

// add appends an item and returns its index.
func (r *reading) add(it *Item) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, it)
	return len(r.items) - 1
}

// wait holds item j for the complete inventory while room, shared by the readings,
// allows; otherwise it drops it, with the other items of the input that wait, for the
// second reading to judge.
func (r *reading) wait(j int, room *atomic.Int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.again && room.Add(-1) >= 0 {
		r.items[j].Findings = nil
		r.waiting = append(r.waiting, j)
		return
	}
	if !r.again {
		room.Add(1)
		r.again = true
		for _, w := range r.waiting {
			r.items[w] = dropped
			room.Add(1)
		}
		r.waiting = nil
	}
	r.items[j] = dropped
}

// errChanged is the error of a file that changed between the two readings.
var errChanged = errors.New("the file changed while it was being checked: its objects are not judged; check it again")

// checkBounded judges the inputs reading each once, or twice for the objects it cannot hold.
func (c *checker) checkBounded(ctx context.Context, inputs []file, stdin io.Reader, res *Result) error {
	readings, waiting, err := c.judgeAll(ctx, inputs, stdin)
	if err != nil {
		return err
	}
	inv := policy.NewCompactInventory()
	for _, r := range readings {
		if r.refused == nil {
			inv.Merge(r.inv)
		}
		r.inv = nil
	}
	inv.Index()
	env := policy.Env{Context: c.pctx, Inventory: inv}
	if c.betweenPasses != nil {
		c.betweenPasses()
	}
	err = parallel(len(waiting), func(i int) error {
		if err := c.judge(ctx, waiting[i], env); err != nil {
			return err
		}
		waiting[i].settle()
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.judgeAgain(ctx, inputs, readings, env); err != nil {
		return err
	}
	n := 0
	for _, r := range readings {
		n += len(r.items)
	}
	res.Items = make([]Item, 0, n)
	for _, r := range readings {
		res.Errors = append(res.Errors, r.decodeErrs...)
		for j, it := range r.items {
			res.Items = append(res.Items, *it)
			r.items[j] = nil // not held twice
		}
	}
	for _, r := range readings {
		res.Errors = append(res.Errors, r.reviewErrs...)
	}
	return nil
}

// judgeAll is the first reading: it decodes the inputs, on every core, and hands each
// object to a judge as soon as it is decoded. The judges keep only what the report needs
// of the objects judged, and return those that wait for the complete inventory.
func (c *checker) judgeAll(ctx context.Context, inputs []file, stdin io.Reader) ([]*reading, []*Item, error) {
	procs := runtime.GOMAXPROCS(0)
	// A few objects per judge wait their turn: enough to keep the judges busy while a
	// decoder reads a long document, few enough to hold little.
	queue := make(chan queued, 4*procs)
	var room atomic.Int64
	room.Store(c.heldLimit())
	var failed error
	var once sync.Once
	var judges sync.WaitGroup
	for range procs {
		judges.Add(1)
		go func() {
			defer judges.Done()
			var p pending
			env := policy.Env{Context: c.pctx, Inventory: &p}
			for q := range queue {
				p.asked = false
				err := c.judge(ctx, q.it, env)
				switch {
				case p.asked:
					q.r.wait(q.j, &room)
					continue
				case err != nil:
					once.Do(func() { failed = err })
				}
				q.it.settle()
			}
		}()
	}
	readings := make([]*reading, len(inputs))
	_ = parallel(len(inputs), func(i int) error {
		r := &reading{inv: policy.NewCompactInventory()}
		readings[i] = r
		var tee io.Writer
		var held *bytes.Buffer
		var sum hash.Hash
		if inputs[i].stdin {
			held = &bytes.Buffer{}
			tee = held
		} else {
			sum = sha256.New()
			tee = sum
		}
		err := readInput(c.dec, inputs[i], c.o.MaxFileSize, stdin, tee, func(docs []*manifest.Document, errs []*manifest.Error) {
			r.decodeErrs = append(r.decodeErrs, errs...)
			for _, d := range docs {
				addRelated(r.inv, d, d.Typed)
				it, err := c.item(d)
				if err != nil {
					r.reviewErrs = append(r.reviewErrs, err)
					continue
				}
				queue <- queued{it, r, r.add(it)}
			}
		})
		if err != nil {
			// What was read is void, and the input is reported where its errors go, as the
			// held check reports an input refused whole.
			r.refused, r.decodeErrs, r.reviewErrs, r.inv = err, []*manifest.Error{err}, nil, nil
			return nil
		}
		if held != nil {
			r.held = held.Bytes()
		} else {
			r.sum = sum.Sum(nil)
		}
		return nil
	})
	close(queue)
	judges.Wait()
	if failed != nil {
		return nil, nil, failed
	}
	var waiting []*Item
	for _, r := range readings {
		if r.refused != nil {
			r.items = nil
		} else {
			for _, j := range r.waiting {
				waiting = append(waiting, r.items[j])
			}
		}
		r.waiting = nil
	}
	return readings, waiting, nil
}

// queued is an item for the judges, the reading of its input and its index there.
type queued struct {
	it *Item
	r  *reading
	j  int
}

// judgeAgain is the second reading, of the inputs whose objects were not all held: it
// decodes them again, on every core, and judges the objects the first reading dropped.
func (c *checker) judgeAgain(ctx context.Context, inputs []file, readings []*reading, env policy.Env) error {
	var failed error
	var once sync.Once
	_ = parallel(len(inputs), func(i int) error {
		r := readings[i]
		if r.refused != nil || !r.again {
			return nil
		}
		var sum hash.Hash
		var tee io.Writer
		if !inputs[i].stdin {
			sum = sha256.New()
			tee = sum
		}
		j := 0
		err := readInput(c.dec, inputs[i], c.o.MaxFileSize, bytes.NewReader(r.held), tee, func(docs []*manifest.Document, _ []*manifest.Error) {
			for _, d := range docs {
				it, err := c.item(d)
				if err != nil {
					continue // reported by the first reading
				}
				if j < len(r.items) && r.items[j] == dropped {
					if err := c.judge(ctx, it, env); err != nil {
						once.Do(func() { failed = err })
					}
					it.settle()
					r.items[j] = it
				}
				j++
			}
		})
		if err == nil && (j != len(r.items) || (sum != nil && !bytes.Equal(sum.Sum(nil), r.sum))) {
			err = &manifest.Error{Source: inputs[i].path, Err: errChanged}
		}
		if err != nil {
			// What was read is void, and the input is reported where its errors go, as the
			// held check reports an input refused whole.
			r.items, r.decodeErrs, r.reviewErrs = nil, []*manifest.Error{err}, nil
		}
		return nil
	})
	return failed
}

// addRelated adds obj, the object of document d (mutated or not; nil to add none), to the
// inventory of a manifest set, with the OpenShift MachineConfigs, which sctpguard reads
// unstructured. AdmissionReviews are requests, not objects of the set.
func addRelated(inv *policy.MemoryInventory, d *manifest.Document, obj policy.Object) {
	if d.IsAdmissionReview() {
		return
	}
	if obj != nil {
		inv.Add(obj)
	}
	if d.Typed == nil {
		gvk := schema.FromAPIVersionAndKind(stringField(d.Object, "apiVersion"), stringField(d.Object, "kind"))
		if gvk.Group == policy.MachineConfigGroup && gvk.Kind == policy.MachineConfigKind {
			inv.AddMachineConfig(policy.MachineConfigFromUnstructured(d.Object))
		}
	}
}

// pending is the inventory of a set not yet read whole: it answers no lookup, and records
// that one was asked for, so that the object is judged again once the inventory is
// complete. (Whether the rules then give up or go on without the answer, the judgement is
// not kept.)
type pending struct{ asked bool }

var errPending = errors.New("the inventory is not complete yet")

func (p *pending) GatewayClass(string) (*svcapi.GatewayClass, error) { return nil, p.ask() }
func (p *pending) Gateway(string, string) (*svcapi.Gateway, error)   { return nil, p.ask() }
func (p *pending) GatewayBackends(string, string) ([]*corev1.Service, error) {
	return nil, p.ask()
}
func (p *pending) SharedVIPServices(string, string) ([]*corev1.Service, error) {
	return nil, p.ask()
}
func (p *pending) GatewayAPIClass(string) (*gwv1.GatewayClass, error)      { return nil, p.ask() }
func (p *pending) GatewayAPIGateway(string, string) (*gwv1.Gateway, error) { return nil, p.ask() }
func (p *pending) GatewayListenerSets(string, string) ([]*gwv1.ListenerSet, error) {
	return nil, p.ask()
}
func (p *pending) MachineConfigs() ([]policy.MachineConfig, error)             { return nil, p.ask() }
func (p *pending) Namespace(string) (*corev1.Namespace, error)                 { return nil, p.ask() }
func (p *pending) AviInfraSetting(string) (*akov1beta1.AviInfraSetting, error) { return nil, p.ask() }
func (p *pending) L4Rule(string, string) (*akov1alpha2.L4Rule, error)          { return nil, p.ask() }

func (p *pending) ask() error {
	p.asked = true
	return errPending
}
