// Command avisim runs the fake Avi Controller (a test double, package
// github.com/sctpguard/sctpguard/test/avisim) until interrupted, for demos and manual tests.
// The credentials come from AVISIM_USERNAME and AVISIM_PASSWORD (default admin/admin).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sctpguard/sctpguard/test/avisim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "address to serve HTTPS on")
	caOut := flag.String("ca-out", "", "write the server certificate (PEM, the CA bundle to trust) to this file")
	version := flag.String("version", "22.1.3", "controller version")
	verbose := flag.Bool("v", false, "log every request")
	flag.Parse()

	opts := avisim.Options{Version: *version, Username: os.Getenv("AVISIM_USERNAME"), Password: os.Getenv("AVISIM_PASSWORD")}
	if *verbose {
		opts.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	ts, err := avisim.New(opts).ListenTLS(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "avisim:", err)
		os.Exit(1)
	}
	defer ts.Close()
	if *caOut != "" {
		if err := os.WriteFile(*caOut, avisim.CertPEM(ts), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "avisim:", err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "avisim (a fake Avi Controller) serving %s\n", ts.URL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}
