package check

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"runtime"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// A bounded check reads its inputs twice and holds one document at a time, per core, and
// not the set: 100,000 Services in one file would otherwise be 100,000 decoded objects held
// until the last is judged (some 310 MB, as much as kubectl's own reader of the file).
//
//  1. survey decodes the objects of related kinds (policy.Related) and keeps of each only
//     what the built-in rules look up in the inventory (policy.NewCompactInventory); the
//     documents of other kinds it splits, and parses only when they name a related kind
//     (manifest.Decoder.OnlyKinds);
//  2. judgeAll decodes every input again, judges each object against that inventory as
//     soon as it is decoded, and keeps of it only its findings and a summary to report
//     them (Item.settle), and the errors of the documents that cannot be read.
//
// The price is reading twice: the objects of related kinds are decoded twice, the others
// mostly split twice and decoded once. Files are read again from disk, and must not change in
// between: each is hashed in both passes, and one that changed is reported as unreadable,
// its objects unjudged. Standard input cannot be read twice: its bytes are held from the
// first pass to the second, which costs its size (at most --max-file-size) and leaves
// nothing on disk.
//
// What stays is still proportional to the set, but small: the related objects of the
// compact inventory (Gateways and the like whole, of a Service only the fields the rules
// read, and only when it is a Gateway backend or shares a VIP), a summary per object, and
// the findings, which the report needs whole (JSON and JUnit begin with the totals).

// survey is what the first pass learns of one input.
type survey struct {
	// inv holds what the rules look up of the input's objects.
	inv *policy.MemoryInventory
	// refused is the error that refuses the input whole, if any.
	refused *manifest.Error
	// sum is the hash of the file read; held is standard input.
	sum  []byte
	held []byte
}

// errChanged is the error of a file that changed between the two passes.
var errChanged = errors.New("the file changed while it was being checked: its objects are not judged; check it again")

// checkBounded judges the inputs in two passes, holding one document at a time.
func (c *checker) checkBounded(ctx context.Context, inputs []file, stdin io.Reader, res *Result) error {
	surveys := c.survey(inputs, stdin)
	inv := policy.NewCompactInventory()
	for _, s := range surveys {
		if s.refused == nil {
			inv.Merge(s.inv)
			s.inv = nil
		}
	}
	inv.Index()
	if c.betweenPasses != nil {
		c.betweenPasses()
	}
	return c.judgeAll(ctx, inputs, surveys, policy.Env{Context: c.pctx, Inventory: inv}, res)
}

// survey is the first pass: it decodes every input, on every core, and keeps what the
// rules look up of its objects. It decodes only the objects of related kinds: of the
// others it reads only the kind, or nothing when their text does not name a related kind
// (a ConfigMap of 300,000 keys is split, not parsed). Their errors are found by the second
// pass, which decodes everything.
func (c *checker) survey(inputs []file, stdin io.Reader) []*survey {
	dec := *c.dec
	dec.OnlyKinds = policy.RelatedKinds()
	surveys := make([]*survey, len(inputs))
	_ = parallel(len(inputs), func(i int) error {
		s := &survey{inv: policy.NewCompactInventory()}
		surveys[i] = s
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
		err := readInput(&dec, inputs[i], c.o.MaxFileSize, stdin, tee, func(docs []*manifest.Document, _ []*manifest.Error) {
			for _, d := range docs {
				addRelated(s.inv, d, d.Typed)
			}
		})
		if err != nil {
			s.inv, s.refused = nil, err
			return nil
		}
		if held != nil {
			s.held = held.Bytes()
		} else {
			s.sum = sum.Sum(nil)
		}
		return nil
	})
	return surveys
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

// judgeAll is the second pass: it decodes the inputs again, on every core, and hands each
// object to a judge as soon as it is decoded; the judges keep only what the report needs.
func (c *checker) judgeAll(ctx context.Context, inputs []file, surveys []*survey, env policy.Env, res *Result) error {
	procs := runtime.GOMAXPROCS(0)
	// A few objects per judge wait their turn: enough to keep the judges busy while a
	// decoder reads a long document, few enough to hold little.
	queue := make(chan *Item, 4*procs)
	var failed error
	var once sync.Once
	var judges sync.WaitGroup
	for range procs {
		judges.Add(1)
		go func() {
			defer judges.Done()
			for it := range queue {
				if err := c.judge(ctx, it, env); err != nil {
					once.Do(func() { failed = err })
				}
				it.settle()
			}
		}()
	}
	items := make([][]*Item, len(inputs))
	decodeErrs := make([][]*manifest.Error, len(inputs))
	reviewErrs := make([][]*manifest.Error, len(inputs))
	// void marks the inputs whose second reading failed or differed from the first.
	void := make([]bool, len(inputs))
	_ = parallel(len(inputs), func(i int) error {
		s := surveys[i]
		if s.refused != nil {
			decodeErrs[i] = []*manifest.Error{s.refused}
			return nil
		}
		in := stdinOf(inputs[i], s)
		var sum hash.Hash
		var tee io.Writer
		if !inputs[i].stdin {
			sum = sha256.New()
			tee = sum
		}
		err := readInput(c.dec, inputs[i], c.o.MaxFileSize, in, tee, func(docs []*manifest.Document, errs []*manifest.Error) {
			decodeErrs[i] = append(decodeErrs[i], errs...)
			for _, d := range docs {
				it, err := c.item(d)
				if err != nil {
					reviewErrs[i] = append(reviewErrs[i], err)
					continue
				}
				items[i] = append(items[i], it)
				queue <- it
			}
		})
		if err == nil && sum != nil && !bytes.Equal(sum.Sum(nil), s.sum) {
			err = &manifest.Error{Source: inputs[i].path, Err: errChanged}
		}
		if err != nil {
			// What was read is void, and the input is reported where its errors go, as the
			// held check reports an input refused whole.
			void[i], decodeErrs[i], reviewErrs[i] = true, []*manifest.Error{err}, nil
		}
		return nil
	})
	close(queue)
	judges.Wait()
	if failed != nil {
		return failed
	}
	n := 0
	for i := range items {
		if !void[i] {
			n += len(items[i])
		}
	}
	res.Items = make([]Item, 0, n)
	for i := range items {
		res.Errors = append(res.Errors, decodeErrs[i]...)
		if void[i] {
			continue
		}
		for j, it := range items[i] {
			res.Items = append(res.Items, *it)
			items[i][j] = nil // not held twice
		}
	}
	for i := range reviewErrs {
		res.Errors = append(res.Errors, reviewErrs[i]...)
	}
	return nil
}

// stdinOf is what the second pass reads as standard input: the bytes the first held.
func stdinOf(in file, s *survey) io.Reader {
	if in.stdin {
		return bytes.NewReader(s.held)
	}
	return nil
}
