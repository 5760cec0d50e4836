// Command demo is `make demo`: it starts a real kube-apiserver and etcd with sctpguard's
// webhooks, applies the examples with the real kubectl as a user would, shows what is accepted
// and what is rejected exactly as kubectl prints it, and leaves the cluster running with a
// kubeconfig to play with until interrupted.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/test/cluster"
	"github.com/sctpguard/sctpguard/webhook"
)

func main() {
	repo := flag.String("repo", ".", "repository root")
	assets := flag.String("assets", os.Getenv("KUBEBUILDER_ASSETS"), "directory with kube-apiserver, etcd and kubectl")
	bin := flag.String("sctpguard", "bin/sctpguard", "sctpguard binary")
	dir := flag.String("dir", "demo", "directory for the kubeconfig and sctpguard's log")
	exit := flag.Bool("exit", false, "stop after the walk-through instead of waiting for Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *repo, *assets, *bin, *dir, *exit); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, repo, assets, bin, dir string, exit bool) error {
	repo, _ = filepath.Abs(repo)
	bin, _ = filepath.Abs(bin)
	dir, _ = filepath.Abs(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "sctpguard.log"))
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	// The Avi Controller cannot run here: avisim, its test double, stands in for it.
	sim := avisim.New(avisim.Options{})
	aviServer, err := sim.ListenTLS("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer aviServer.Close()
	creds := filepath.Join(dir, "avi")
	if err := os.MkdirAll(creds, 0o700); err != nil {
		return err
	}
	for name, value := range map[string][]byte{"username": []byte("admin"), "password": []byte("admin"), "certificateAuthorityData": avisim.CertPEM(aviServer)} {
		if err := os.WriteFile(filepath.Join(creds, name), value, 0o600); err != nil {
			return err
		}
	}
	say("Starting kube-apiserver and etcd (built from source), avisim (the Avi Controller's test double) at %s,\n"+
		"and sctpguard serve --translator (log: %s) ...", aviServer.URL, logFile.Name())
	c, err := cluster.Start(ctx, cluster.Options{
		Repo: repo, Assets: assets, Sctpguard: bin, Dir: dir, Log: logFile,
		Namespaces: []string{"sctpguard", "avi-system", "svcapi", "telco", "voice", "myapp"},
		// No AKO runs here: the translator syncs AKO's class (the seeds') too, as in a cluster
		// without AKO.
		ServeArgs: []string{"--translator", "--translator-sync-ako-class", "--avi-controller", aviServer.Listener.Addr().String(), "--avi-credentials-dir", creds,
			"--translator-slow-retry", "5s"},
	})
	if err != nil {
		return err
	}
	defer c.Stop()

	ako := &akoSettings{c: c}

	say("\n== The broken examples: each is rejected at kubectl apply, with what is wrong and how to fix it")
	broken, err := filepath.Glob(filepath.Join(repo, "examples/broken/*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range broken {
		rel, _ := filepath.Rel(repo, f)
		values, err := valuesOf(f)
		if err != nil {
			return err
		}
		if err := ako.set(ctx, filepath.Join(repo, values)); err != nil {
			return err
		}
		fmt.Printf("\n# AKO settings: %s\n", values)
		show(c, "apply", "-f", rel)
		_, _, _ = c.Kubectl("", "delete", "-f", rel, "--ignore-not-found", "--wait=false")
	}

	say("\n== The seed examples: accepted, with sctpguard's defaults in the stored objects")
	if err := ako.set(ctx, filepath.Join(repo, "examples/ako/values.yaml")); err != nil {
		return err
	}
	seeds, err := filepath.Glob(filepath.Join(repo, "examples/seeds/*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range seeds {
		rel, _ := filepath.Rel(repo, f)
		show(c, "apply", "-f", rel)
	}
	show(c, "get", "svc", "server", "-n", "default", "-o",
		`jsonpath={.metadata.labels}{"\n"}{.spec.ports[0].name}{" "}{.spec.allocateLoadBalancerNodePorts}{"\n"}`)

	say("\n== The translator synced the admitted SCTP objects to the Avi Controller (here avisim, its test double)")
	if err := showAvi(ctx, sim); err != nil {
		return err
	}
	if err := cluster.Poll(ctx, 30*time.Second, func() error {
		out, _, _ := c.Kubectl("", "get", "svc", "server", "-n", "default", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
		if out == "" {
			return fmt.Errorf("the Service has no VIP in its status yet")
		}
		return nil
	}); err != nil {
		return err
	}
	show(c, "get", "svc", "server", "-n", "default")
	show(c, "get", "gateway.networking.x-k8s.io", "my-gateway", "-n", "svcapi", "-o",
		`jsonpath={.status.addresses[0].value}{"  "}{range .status.conditions[*]}{.type}={.status} {end}{"\n"}`)

	if err := guardDemo(ctx, c, ako, repo, bin); err != nil {
		return err
	}

	say("\n== The cluster stays up. Try:")
	fmt.Printf("  export KUBECONFIG=%s\n", c.Kubeconfig)
	fmt.Printf("  kubectl apply -f examples/broken/backend-port-conflict.yaml\n")
	fmt.Printf("  sctpguard check --cluster -A --ako-values examples/ako/values-nodeportlocal.yaml   # what a change of AKO's settings would break\n")
	fmt.Printf("  kubectl -n avi-system patch configmap avi-k8s-config -p '{\"data\":{\"serviceType\":\"NodePortLocal\"}}'   # the guard's warnings\n")
	fmt.Printf("  kubectl get policyreports -A   # then the audit's reports\n")
	fmt.Printf("  kubectl apply -f examples/seeds/ako-loadbalancer-service.yaml   # now rejected\n")
	fmt.Printf("  sctpguard translate -f examples/seeds --ako-values examples/ako/values.yaml --sync-ako-class   # the Avi objects, offline\n")
	fmt.Printf("  sctpguard translate -f examples/seeds --ako-values examples/ako/values.yaml --sync-ako-class --controller %s --avi-credentials-dir %s   # the plan against avisim\n",
		aviServer.Listener.Addr().String(), creds)
	fmt.Printf("avisim (test double of the Avi Controller) serves %s; credentials and CA in %s\n", aviServer.URL, creds)
	if exit {
		return nil
	}
	say("\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

// guardDemo shows what a switch of AKO to NodePortLocal would break, asked before with
// check --cluster's what-if and told at the change by the guard on AKO's ConfigMap, then
// switches back.
func guardDemo(ctx context.Context, c *cluster.Cluster, ako *akoSettings, repo, bin string) error {
	guard := webhook.AKOGuardConfiguration(webhook.ConfigurationOptions{Name: "sctpguard", URL: c.WebhookURL, CABundle: c.ServingCA()},
		webhook.AKOGuardOptions{Namespace: "avi-system", Name: "avi-k8s-config"})
	if err := c.Client.Create(ctx, guard); err != nil {
		return fmt.Errorf("install the guard on AKO's ConfigMap: %w", err)
	}
	say("\n== What would switching AKO to NodePortLocal break? Asked before, read-only, with check --cluster's what-if")
	fmt.Println("$ sctpguard check --cluster -A --ako-values examples/ako/values-nodeportlocal.yaml")
	cmd := exec.CommandContext(ctx, bin, "check", "--cluster", "-A", "--kubeconfig", c.Kubeconfig, "--ako-values", "examples/ako/values-nodeportlocal.yaml")
	cmd.Dir = repo
	out, _ := cmd.CombinedOutput() // exit code 1: the what-if denies
	fmt.Print(string(out))

	say("\n== The switch itself: the guard on AKO's ConfigMap warns, before it is stored, what it breaks")
	// The API server picks the guard's configuration up asynchronously.
	patch := []string{"-n", "avi-system", "patch", "configmap", "avi-k8s-config", "--type", "merge", "-p", `{"data":{"serviceType":"NodePortLocal"}}`}
	if err := cluster.Poll(ctx, 30*time.Second, func() error {
		if _, stderr, _ := c.Kubectl("", append(patch, "--dry-run=server")...); !strings.Contains(stderr, "would be skipped by AKO") {
			return fmt.Errorf("the guard does not answer yet: %s", stderr)
		}
		return nil
	}); err != nil {
		return err
	}
	show(c, patch...)

	say("\n== Once stored, the audit reports the objects it broke: one PolicyReport per namespace")
	if err := cluster.Poll(ctx, 30*time.Second, func() error {
		for _, ns := range []string{"default", "svcapi"} {
			if out, _, _ := c.Kubectl("", "get", "policyreports", "-n", ns, "sctpguard", "-o", "jsonpath={.summary.fail}"); out == "" || out == "0" {
				return fmt.Errorf("no failing result in %s's report yet", ns)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("the audit's reports: %w", err)
	}
	show(c, "get", "policyreports", "-A")
	show(c, "get", "policyreport", "sctpguard", "-n", "default", "-o", "jsonpath={range .results[*]}{.result} {.rule} {.resources[0].kind}/{.resources[0].name} {.properties.path}{\"\\n\"}{end}")

	say("\n# Back to ClusterIP mode")
	ako.current = ""
	return ako.set(ctx, filepath.Join(repo, "examples/ako/values.yaml"))
}

// showAvi waits for the seed units' virtual services in avisim and prints every object of
// ours with its main fields.
func showAvi(ctx context.Context, sim *avisim.Server) error {
	want := []string{"my-cluster--default-server", "my-cluster--svcapi-my-gateway"}
	if err := cluster.Poll(ctx, 30*time.Second, func() error {
		for _, name := range want {
			if _, ok := sim.Object("admin", "virtualservice", name); !ok {
				return fmt.Errorf("virtual service %s has not appeared in avisim", name)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	// Plain reads render refs as URLs ending in the uuid: name them.
	names := map[string]string{}
	for _, typ := range []string{"healthmonitor", "networkprofile"} {
		for _, o := range sim.Objects("admin", typ) {
			names[o["uuid"].(string)] = o["name"].(string)
		}
	}
	refName := func(v any) string {
		s, _ := v.(string)
		return names[s[strings.LastIndex(s, "/")+1:]]
	}
	for _, typ := range []string{"pool", "l4policyset", "vsvip", "virtualservice"} {
		for _, o := range sim.Objects("admin", typ) {
			line := fmt.Sprintf("  %-15s %s", typ, o["name"])
			switch typ {
			case "pool":
				line += "  health monitor " + refName(o["health_monitor_refs"].([]any)[0])
			case "l4policyset":
				for _, r := range o["l4_connection_policy"].(map[string]any)["rules"].([]any) {
					m := r.(map[string]any)["match"].(map[string]any)
					line += fmt.Sprintf("  rule %v: %v %v", r.(map[string]any)["name"], m["protocol"].(map[string]any)["protocol"], m["port"].(map[string]any)["ports"])
				}
			case "vsvip":
				vip := o["vip"].([]any)[0].(map[string]any)
				if a, ok := vip["ip_address"].(map[string]any); ok {
					line += fmt.Sprintf("  VIP %v", a["addr"])
				}
			case "virtualservice":
				line += fmt.Sprintf("  created_by %v, network profile %s", o["created_by"], refName(o["network_profile_ref"]))
			}
			fmt.Println(line)
		}
	}
	return nil
}

// show runs kubectl and prints the command and what kubectl printed.
func show(c *cluster.Cluster, args ...string) {
	fmt.Printf("$ kubectl %s\n", strings.Join(args, " "))
	fmt.Print(c.KubectlCombined(args...))
}

// valuesOf reads the AKO values file an example's first line names.
func valuesOf(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	first, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(first)
	for i, arg := range fields {
		if arg == "--ako-values" && i+1 < len(fields) {
			return fields[i+1], nil
		}
	}
	return "examples/ako/values.yaml", nil
}

// akoSettings writes AKO's ConfigMap.
type akoSettings struct {
	c       *cluster.Cluster
	current string
}

// set writes the settings of an AKO values file into AKO's ConfigMap, as AKO's chart would,
// and waits until sctpguard has reloaded them.
func (a *akoSettings) set(ctx context.Context, values string) error {
	if values == a.current {
		return nil
	}
	a.current = values
	c := a.c
	data, err := os.ReadFile(values)
	if err != nil {
		return err
	}
	pctx, err := policy.ParseAKOValues(data)
	if err != nil {
		return err
	}
	before := reloads(c)
	cm := map[string]string{
		"serviceType":         string(pctx.AKO.ServiceType),
		"servicesAPI":         strconv.FormatBool(pctx.AKO.ServicesAPI),
		"defaultLBController": strconv.FormatBool(pctx.AKO.DefaultLBController),
		"layer7Only":          strconv.FormatBool(pctx.AKO.Layer7Only),
		"clusterName":         pctx.AKO.ClusterName,
		"controllerVersion":   pctx.ControllerVersion,
		"cniPlugin":           pctx.CNI,
	}
	if err := c.SetAKO(ctx, cm); err != nil {
		return err
	}
	return cluster.Poll(ctx, 30*time.Second, func() error {
		if reloads(c) == before {
			return fmt.Errorf("sctpguard has not reloaded AKO's settings yet")
		}
		return nil
	})
}

// reloads reads sctpguard's count of AKO settings reloads; an unchanged ConfigMap does not
// count, so it changes only when new settings arrive.
func reloads(c *cluster.Cluster) string {
	resp, err := http.Get(c.MetricsURL + "/metrics")
	if err != nil {
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, `sctpguard_context_reloads_total{result="ok"}`) {
			return line
		}
	}
	return ""
}
