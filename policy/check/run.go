package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/input"
	"github.com/sctpguard/sctpguard/policy/manifest"
	"github.com/sctpguard/sctpguard/policy/rego"
)

// Streams are the standard streams of a run.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Result is everything a run found, in input order.
type Result struct {
	// Inputs counts the files (and standard input) read.
	Inputs int
	// Skipped lists files in directories that were not read (no .yaml, .yml or .json name).
	Skipped []string
	// Items holds one entry per object.
	Items []Item
	// Errors are the inputs or documents that could not be read.
	Errors []*manifest.Error
	// Notes say what a check --cluster did not read, and why (a kind the cluster does not
	// serve, AKO's ConfigMap absent).
	Notes []string
}

// Item is one object and its findings.
type Item struct {
	Doc      *manifest.Document
	Findings []policy.Finding
	// Mutated is the object's YAML after the mutations, when --mutate changed it.
	Mutated []byte
	// Applied lists the mutations that changed it.
	Applied []policy.RuleID
	// Object is the object judged: the mutated one with --mutate, else Doc.Typed.
	Object policy.Object
	// Review is the request an AdmissionReview document asks to judge (operation, user,
	// old object), as the webhook would get it; nil for manifests, judged as CREATEs.
	Review *policy.Review
	// Combined marks the findings of user policies on all documents at once (--combine);
	// Doc is then only a name, CombinedSource.
	Combined bool

	// ref names the object judged once a bounded check has dropped it (see settle).
	ref *policy.ObjectRef
}

// pathPrefix is where the item's object is in its document, for line numbers.
func (it *Item) pathPrefix() string {
	if it.Doc.IsAdmissionReview() {
		return manifest.ReviewPath + "."
	}
	return ""
}

// name names the object judged: for an AdmissionReview, the object of its request.
func (it *Item) name() policy.ObjectRef {
	switch {
	case it.ref != nil:
		return *it.ref
	case it.Review != nil && it.Object != nil:
		return policy.Ref(it.Object)
	}
	return it.Doc.Ref()
}

// settle drops what a judged item holds beyond its report: the object, the request and the
// document, of which a summary stays with the lines its findings point at.
func (it *Item) settle() {
	paths := make([]string, len(it.Findings))
	for i, f := range it.Findings {
		paths[i] = it.pathPrefix() + f.Path
	}
	if it.Review != nil && it.Object != nil {
		ref := policy.Ref(it.Object)
		it.ref = &ref
	}
	it.Doc = it.Doc.Summary(paths...)
	it.Object, it.Review = nil, nil
}

// ExitCode is the exit code for the result: 2 when an input failed, else 1 when any
// object is denied, else 0.
func (r *Result) ExitCode() int {
	if len(r.Errors) > 0 {
		return ExitError
	}
	for _, it := range r.Items {
		if policy.Denied(it.Findings) {
			return ExitDenied
		}
	}
	return ExitClean
}

// Run performs a check, writes the report and returns the exit code.
func Run(ctx context.Context, o *Options, s Streams) int {
	if errs := o.Validate(); len(errs) > 0 {
		fmt.Fprintf(s.Err, "error: %v\n", errs.ToAggregate())
		return ExitError
	}
	if o.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		// $GOGC, when set, keeps its pace.
		defer softLimit(o.MemoryLimit, os.Getenv("GOGC") == "")()
	}
	res, err := Check(ctx, o, s.In)
	if err != nil {
		fmt.Fprintf(s.Err, "error: %v\n", err)
		return ExitError
	}
	for _, n := range res.Notes {
		fmt.Fprintf(s.Err, "note: %s\n", n)
	}
	out := s.Out
	if o.Mutate {
		// The mutated manifests own standard output, so they can be piped on.
		if err := writeManifests(s.Out, res); err != nil {
			fmt.Fprintf(s.Err, "error: %v\n", err)
			return ExitError
		}
		out = s.Err
	}
	if err := Report(out, s.Err, o, res); err != nil {
		fmt.Fprintf(s.Err, "error: write report: %v\n", err)
		return ExitError
	}
	return res.ExitCode()
}

// Check reads the inputs and judges every object. It returns an error only when the run
// itself cannot proceed (bad context or configuration); unreadable inputs are in the
// Result's Errors, and the other inputs are still checked.
//
// A check of files holds one document at a time (see checkBounded), unless the options
// need every object at once (see holdsObjects): then it holds them all (judgeHeld), as a
// check of a cluster does. Both give the
// same Result, but the Items of a bounded check keep no Object or Review and only a
// Summary of their Doc.
func Check(ctx context.Context, o *Options, stdin io.Reader) (*Result, error) {
	return check(ctx, o, stdin, &checker{})
}

// check is Check with a checker that may hold the objects when it need not (c.hold), for
// tests to compare the two ways.
func check(ctx context.Context, o *Options, stdin io.Reader, c *checker) (*Result, error) {
	var cluster *clusterSnapshot
	var clusterSettings *policy.Context
	// With --cluster and files, the files' documents, judged against the cluster's objects
	// in namespaces.
	var files []*manifest.Document
	var namespaces []string
	res := &Result{}
	if o.Cluster {
		r, namespace, err := o.clusterReader()
		if err != nil {
			return nil, err
		}
		namespaces = []string{namespace}
		if o.AllNamespaces {
			namespaces = []string{""}
		}
		if len(o.Files) > 0 {
			// Read as kubectl apply -f reads them against this cluster: objects that name
			// no namespace are in -n's, else the kubeconfig context's.
			fo := *o
			fo.Namespace = namespace
			files = res.decode(res.expand(o.Files), &fo, stdin)
			if !o.AllNamespaces {
				namespaces = clusterNamespaces(namespace, files)
			}
		}
		if cluster, err = o.readCluster(ctx, r, namespaces, len(o.Files) > 0); err != nil {
			return nil, err
		}
		clusterSettings = &cluster.settings
	}
	pctx, err := o.contextOver(clusterSettings)
	if err != nil {
		return nil, err
	}
	cfg, err := o.Config()
	if err != nil {
		return nil, err
	}
	var evaluators []policy.Evaluator
	set, err := o.policies(ctx)
	if err != nil {
		return nil, err
	}
	if set != nil {
		evaluators = append(evaluators, set)
	}
	engine, err := policy.NewEngine(cfg, evaluators...)
	if err != nil {
		return nil, err
	}
	c.o, c.engine, c.pctx, c.dec = o, engine, pctx, manifest.NewDecoder(policy.Scheme(), o.Namespace)
	var env policy.Env
	switch {
	case cluster != nil && len(o.Files) > 0:
		// The files are judged, the cluster's objects are what they are judged against:
		// each file's object replaces the stored one of its name.
		res.Errors, res.Notes, res.Inputs = append(res.Errors, cluster.errors...), append(res.Notes, cluster.notes...), res.Inputs+1
		res.Notes = append(res.Notes, fmt.Sprintf("judged against %d objects read from the cluster (%s)", len(cluster.docs), namespacesRead(o, namespaces)))
		env, err = c.judgeHeld(ctx, files, cluster.docs, res)
	case cluster != nil:
		// The cluster is one more source of documents, judged as files are; its objects
		// are read whole (a list per kind), so they are held.
		res.Errors, res.Notes, res.Inputs = cluster.errors, cluster.notes, 1
		env, err = c.judgeHeld(ctx, cluster.docs, nil, res)
	default:
		inputs := res.expand(o.Files)
		if !c.hold && !holdsObjects(o, set) {
			if err := c.checkBounded(ctx, inputs, stdin, res); err != nil {
				return nil, err
			}
			return res, nil
		}
		env, err = c.judgeHeld(ctx, res.decode(inputs, o, stdin), nil, res)
	}
	if err != nil {
		return nil, err
	}
	if o.Combine && set != nil {
		findings, err := set.EvaluateCombined(ctx, combinedFiles(res.Items), env)
		if err != nil {
			return nil, err
		}
		res.Items = append(res.Items, Item{Doc: &manifest.Document{Source: CombinedSource}, Combined: true, Findings: engine.Configure(findings)})
	}
	return res, nil
}

// holdsObjects reports whether a check must hold every object until all are judged:
// --mutate prints the mutated set and judges it against itself; --combine gives the user
// policies all documents at once; and user policies that read data.inventory (Gatekeeper's
// replicated data) get whole objects. Otherwise the built-in rules need only a compact
// inventory, and the check is bounded.
func holdsObjects(o *Options, set *rego.Set) bool {
	return o.Mutate || (set != nil && (o.Combine || set.UsesInventory()))
}

// checker judges the objects of one check.
type checker struct {
	o      *Options
	engine *policy.Engine
	pctx   policy.Context
	dec    *manifest.Decoder

	// hold holds the objects even when the check could be bounded; waitLimit, when set,
	// replaces heldLimit (0: every object that waits for the inventory is judged in a
	// second reading); betweenPasses runs between the two readings of a bounded check.
	// All are for tests.
	hold          bool
	waitLimit     *int64
	betweenPasses func()
}

// item makes the item of a decoded document, or the error of an AdmissionReview that
// cannot be read.
func (c *checker) item(d *manifest.Document) (*Item, *manifest.Error) {
	it := &Item{Doc: d, Object: d.Typed}
	switch {
	case d.IsAdmissionReview():
		// A request, as gator's suites and the webhook's tests keep them: judged as the
		// webhook would judge it, with its operation and old object.
		r, err := c.dec.Review(d)
		if err != nil {
			return nil, &manifest.Error{Source: d.Source, Line: d.Line, Object: "AdmissionReview", Err: err}
		}
		it.Review, it.Object = r, r.Object
		if it.Object == nil {
			it.Object = r.OldObject
		}
	case d.Typed == nil:
		// Kinds sctpguard does not know are judged by user policies only.
		it.Object = &unstructured.Unstructured{Object: d.Object}
	}
	return it, nil
}

// judge sets the findings of an item.
func (c *checker) judge(ctx context.Context, it *Item, env policy.Env) error {
	obj := it.Object
	if obj == nil {
		return nil
	}
	r := it.Review
	if r == nil {
		r = &policy.Review{Operation: policy.OperationCreate, Object: obj}
	}
	findings, err := c.engine.Validate(ctx, r, env)
	if err != nil {
		return fmt.Errorf("%s:%d: %s: %w", it.Doc.Source, it.Doc.Line, it.Doc.Ref(), err)
	}
	unknown := c.engine.UnknownFieldFindings(obj, it.Doc.UnknownFields)
	it.Findings = append(unknown, findings...)
	policy.SortFindings(it.Findings)
	return nil
}

// judgeHeld holds every object of docs and judges them against the whole set. It returns
// the environment they were judged in.
func (c *checker) judgeHeld(ctx context.Context, docs, against []*manifest.Document, res *Result) (policy.Env, error) {
	res.Items = make([]Item, 0, len(docs))
	for _, d := range docs {
		it, err := c.item(d)
		if err != nil {
			res.Errors = append(res.Errors, err)
			continue
		}
		res.Items = append(res.Items, *it)
	}
	// The objects judged against (a cluster's, never AdmissionReviews: no item error) come
	// first: the judged, added after them, replace those of the same kind and name.
	stored := make([]Item, 0, len(against)+len(res.Items))
	for _, d := range against {
		if it, err := c.item(d); err == nil {
			stored = append(stored, *it)
		}
	}
	inv := inventory(append(stored, res.Items...))
	if c.o.Mutate {
		res.Errors = append(res.Errors, mutateAll(ctx, c.engine, res.Items, policy.Env{Context: c.pctx, Inventory: inv})...)
		// The stored objects are the mutated ones: judge against those.
		inv = inventory(res.Items)
	}
	env := policy.Env{Context: c.pctx, Inventory: inv}
	return env, parallel(len(res.Items), func(i int) error {
		return c.judge(ctx, &res.Items[i], env)
	})
}

// Inputs are what a check reads before it judges: the objects of the manifests, the AKO
// context and the rule configuration, and the inputs that could not be read or parsed.
type Inputs struct {
	Objects []policy.Object
	Context policy.Context
	Config  policy.Config
	Errors  []*manifest.Error
}

// ReadInputs checks the options and reads the AKO context, the rule configuration and the
// manifests as Check does, without judging them (sctpguard translate reads its inputs so).
func ReadInputs(o *Options, stdin io.Reader) (*Inputs, error) {
	if errs := o.Validate(); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	settings, err := o.Context()
	if err != nil {
		return nil, err
	}
	cfg, err := o.Config()
	if err != nil {
		return nil, err
	}
	docs, _, errs := Read(o, stdin)
	in := &Inputs{Context: settings, Config: cfg, Errors: errs}
	for _, d := range docs {
		if d.Typed != nil {
			in.Objects = append(in.Objects, d.Typed)
		}
	}
	return in, nil
}

// CombinedSource names the findings of user policies on all documents at once, as conftest
// names them.
const CombinedSource = "Combined"

// combinedFiles groups the objects by file, in input order.
func combinedFiles(items []Item) []rego.CombinedFile {
	var files []rego.CombinedFile
	index := map[string]int{}
	for _, it := range items {
		if it.Object == nil {
			continue
		}
		i, ok := index[it.Doc.Source]
		if !ok {
			i = len(files)
			index[it.Doc.Source] = i
			files = append(files, rego.CombinedFile{Path: it.Doc.Source})
		}
		files[i].Objects = append(files[i].Objects, it.Object)
	}
	return files
}

// Read reads and decodes the inputs as Check does, without judging them: the documents,
// the directory entries skipped, and the inputs that could not be read or parsed.
func Read(o *Options, stdin io.Reader) ([]*manifest.Document, []string, []*manifest.Error) {
	res := &Result{}
	docs := res.decode(res.expand(o.Files), o, stdin)
	return docs, res.Skipped, res.Errors
}

// expand turns the -f arguments into inputs (see expand) and records them: the inputs
// counted, the directory entries skipped and the arguments that could not be read.
func (r *Result) expand(args []string) []file {
	inputs, skipped, errs := expand(args)
	r.Inputs, r.Skipped, r.Errors = len(inputs), skipped, errs
	return inputs
}

// decode reads and decodes the inputs (see decodeAll) and adds the inputs and documents
// that could not be read to the errors.
func (r *Result) decode(inputs []file, o *Options, stdin io.Reader) []*manifest.Document {
	docs, errs := decodeAll(inputs, o, stdin)
	r.Errors = append(r.Errors, errs...)
	return docs
}

// mutateAll applies the mutations to every object; an object whose mutation fails is
// reported and judged as written.
func mutateAll(ctx context.Context, engine *policy.Engine, items []Item, env policy.Env) []*manifest.Error {
	errs := make([]*manifest.Error, len(items))
	_ = parallel(len(items), func(i int) error {
		it := &items[i]
		if it.Doc.Typed == nil || it.Review != nil {
			return nil
		}
		fail := func(err error) error {
			errs[i] = &manifest.Error{Source: it.Doc.Source, Line: it.Doc.Line, Object: it.Doc.Ref().String(), Err: fmt.Errorf("mutate: %w", err)}
			return nil
		}
		r := &policy.Review{Operation: policy.OperationCreate, Object: it.Doc.Typed}
		mutated, applied, err := engine.Mutate(ctx, r, env)
		if err != nil {
			return fail(err)
		}
		if mutated == nil {
			return nil
		}
		ops, err := policy.Patch(it.Doc.Typed, mutated)
		if err != nil {
			return fail(err)
		}
		text, err := it.Doc.Patched(ops)
		if err != nil {
			return fail(err)
		}
		it.Mutated, it.Applied, it.Object = text, applied, mutated
		return nil
	})
	var out []*manifest.Error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// file is one file to read, or standard input.
type file struct {
	path  string
	stdin bool
}

// manifestExt reports whether a file in a directory is read: like kubectl, only .yaml,
// .yml and .json files are.
func manifestExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// expand turns the -f arguments into inputs: files as given, directories walked
// recursively (hidden directories such as .git skipped), "-" for standard input.
func expand(args []string) ([]file, []string, []*manifest.Error) {
	var inputs []file
	var skipped []string
	var errs []*manifest.Error
	seen := map[string]bool{}
	add := func(in file) {
		if !seen[in.path] {
			seen[in.path] = true
			inputs = append(inputs, in)
		}
	}
	for _, arg := range args {
		if arg == "-" {
			add(file{path: "-", stdin: true})
			continue
		}
		info, err := os.Stat(arg)
		if err != nil {
			errs = append(errs, &manifest.Error{Source: arg, Err: cleanPathError(err)})
			continue
		}
		if !info.IsDir() {
			add(file{path: arg})
			continue
		}
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &manifest.Error{Source: path, Err: cleanPathError(err)})
				return nil
			}
			if d.IsDir() {
				if path != arg && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if manifestExt(path) {
				add(file{path: path})
			} else {
				skipped = append(skipped, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &manifest.Error{Source: arg, Err: err})
		}
	}
	return inputs, skipped, errs
}

func cleanPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Standard input without objects is an error, as `kubectl apply -f -` makes it.
var (
	errEmptyStdin = errors.New("standard input is empty: nothing was piped in (did the command before the pipe fail?)")
	errNoObjects  = errors.New("standard input holds no object, only comments or empty documents")
)

// decodeAll reads and decodes the inputs on every core, keeping the input order.
func decodeAll(inputs []file, o *Options, stdin io.Reader) ([]*manifest.Document, []*manifest.Error) {
	dec := manifest.NewDecoder(policy.Scheme(), o.Namespace)
	dec.KeepText = o.Mutate // --mutate prints the documents; without it, only objects are kept
	docs := make([][]*manifest.Document, len(inputs))
	errs := make([][]*manifest.Error, len(inputs))
	_ = parallel(len(inputs), func(i int) error {
		docs[i], errs[i] = decodeInput(dec, inputs[i], o.MaxFileSize, stdin)
		return nil
	})
	var allDocs []*manifest.Document
	var allErrs []*manifest.Error
	for i := range inputs {
		allDocs = append(allDocs, docs[i]...)
		allErrs = append(allErrs, errs[i]...)
	}
	return allDocs, allErrs
}

// decodeInput reads and decodes one input a document at a time, never holding it whole:
// see readInput.
func decodeInput(dec *manifest.Decoder, in file, limit int64, stdin io.Reader) ([]*manifest.Document, []*manifest.Error) {
	var docs []*manifest.Document
	var errs []*manifest.Error
	if err := readInput(dec, in, limit, stdin, nil, func(ds []*manifest.Document, es []*manifest.Error) {
		docs, errs = append(docs, ds...), append(errs, es...)
	}); err != nil {
		return nil, []*manifest.Error{err}
	}
	return docs, errs
}

// readInput reads and decodes one input a document at a time, and hands each document's
// objects and errors to f: a regular file, refused over the size limit before it is read,
// or standard input, cut off at the limit. What is read is copied to tee, when not nil.
// It returns the error that refuses the input whole; what f got before it is then void.
func readInput(dec *manifest.Decoder, in file, limit int64, stdin io.Reader, tee io.Writer, f func([]*manifest.Document, []*manifest.Error)) *manifest.Error {
	fail := func(err error) *manifest.Error {
		err = sizeHint(cleanPathError(err))
		if in.stdin {
			err = fmt.Errorf("standard input: %w", err)
		}
		return &manifest.Error{Source: in.path, Err: err}
	}
	r := &counter{r: input.Limit(stdin, limit)}
	if !in.stdin {
		f, err := input.Open(in.path, limit)
		if err != nil {
			return fail(err)
		}
		defer func() { _ = f.Close() }()
		r.r = f
	}
	if tee != nil {
		r.r = io.TeeReader(r.r, tee)
	}
	any := false
	err := dec.Each(in.path, r, func(ds []*manifest.Document, es []*manifest.Error) {
		any = true
		f(ds, es)
	})
	if r.err != nil {
		return fail(r.err) // reading failed, not decoding
	}
	if err != nil {
		return err
	}
	if in.stdin && !any {
		// An empty pipe is most often a command before it that failed: say so rather
		// than pass with nothing checked.
		if r.n == 0 {
			return &manifest.Error{Source: in.path, Err: errEmptyStdin}
		}
		return &manifest.Error{Source: in.path, Err: errNoObjects}
	}
	return nil
}

// counter counts what is read, and keeps the error of the reader it reads.
type counter struct {
	r   io.Reader
	n   int64
	err error
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	return n, err
}

// inventory builds the inventory of a manifest set: the objects (mutated, when they were)
// and the OpenShift MachineConfigs.
func inventory(items []Item) *policy.MemoryInventory {
	inv := policy.NewMemoryInventory()
	for _, it := range items {
		addRelated(inv, it.Doc, it.Object)
	}
	inv.Index()
	return inv
}

func stringField(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// parallel runs f(0..n-1) on GOMAXPROCS workers and returns the first error. The workers
// pull indexes in turn: a goroutine per item would spend its time growing fresh stacks.
func parallel(n int, f func(i int) error) error {
	var g errgroup.Group
	var next atomic.Int64
	for range min(runtime.GOMAXPROCS(0), n) {
		g.Go(func() error {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := f(i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}
