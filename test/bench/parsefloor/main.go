// Command parsefloor parses every YAML document of the files it is given with yaml.v3, the
// library sctpguard check uses, into generic values on all cores, and does nothing else:
// the floor no checker of the same files can beat.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

func main() {
	var docs atomic.Int64
	var wg sync.WaitGroup
	files := make(chan string)
	var failed atomic.Bool
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					failed.Store(true)
					continue
				}
				dec := yaml.NewDecoder(bytes.NewReader(data))
				for {
					var v any
					if err := dec.Decode(&v); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						fmt.Fprintf(os.Stderr, "%s: %v\n", f, err)
						failed.Store(true)
						break
					}
					docs.Add(1)
				}
			}
		})
	}
	for _, f := range os.Args[1:] {
		files <- f
	}
	close(files)
	wg.Wait()
	fmt.Println(docs.Load())
	if failed.Load() {
		os.Exit(1)
	}
}
