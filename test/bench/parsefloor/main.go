// Command parsefloor parses every YAML document of the files it is given with yaml.v3, the
// library sctpguard check uses, into yaml.Node trees on all cores, and does nothing else:
// the floor of reading the files with yaml.v3 (check's fast path builds the same trees for
// plain block YAML without yaml.v3's event machinery, so it may go under it). (Not into generic values: yaml.v3
// compares every key of a mapping with every other as it fills a map, which took minutes
// on a ConfigMap of 300,000 keys.)
//
// With -kubectl it reads the files as `kubectl apply -f` does instead (package
// test/kubectlread: apimachinery's YAML-or-JSON decoder, sigs.k8s.io/yaml, unstructured
// objects) and holds every object until the end, as kubectl holds them before it applies
// them: the baseline of what reading a manifest set costs the tool users already run.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/sctpguard/sctpguard/test/kubectlread"
)

func main() {
	asKubectl := flag.Bool("kubectl", false, "read as kubectl apply -f does, and hold the objects")
	flag.Parse()
	var docs atomic.Int64
	var wg sync.WaitGroup
	files := make(chan string)
	var failed atomic.Bool
	var mu sync.Mutex
	var held [][]map[string]any
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for f := range files {
				var n int
				var err error
				if *asKubectl {
					var objs []map[string]any
					objs, err = readAsKubectl(f)
					mu.Lock()
					held = append(held, objs)
					mu.Unlock()
					n = len(objs)
				} else {
					n, err = parse(f)
				}
				docs.Add(int64(n))
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s: %v\n", f, err)
					failed.Store(true)
				}
			}
		})
	}
	for _, f := range flag.Args() {
		files <- f
	}
	close(files)
	wg.Wait()
	fmt.Println(docs.Load())
	runtime.KeepAlive(held)
	if failed.Load() {
		os.Exit(1)
	}
}

// parse parses the documents of a file into node trees, keeping none.
func parse(file string) (int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var v yaml.Node
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return n, err
		}
		n++
	}
}

func readAsKubectl(file string) ([]map[string]any, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return kubectlread.Read(f)
}
