package main

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestHAProxyConfig(t *testing.T) {
	cfg, err := haproxyConfig("127.0.0.1:9000", []string{"http://127.0.0.1:9001", "http://127.0.0.1:9002"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bind 127.0.0.1:9000", "balance roundrobin", "mode tcp",
		"server planner1 127.0.0.1:9001\n", "server planner2 127.0.0.1:9002\n"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	for _, bad := range [][]string{nil, {"127.0.0.1:9001"}, {"http://127.0.0.1:9001/x"}, {"http://a:1\nserver evil b:2"}} {
		if _, err := haproxyConfig("127.0.0.1:9000", bad); err == nil {
			t.Errorf("backends %q: no error", bad)
		}
	}
}

// TestHAProxyRoundRobin runs Debian's HAProxy, when installed, in front of
// one backend and then two, as the scale-out workload does.
func TestHAProxyRoundRobin(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("haproxy is not installed (.ci/run installs it)")
		}
		t.Skip("haproxy is not installed (make bench installs it)")
	}
	a, b := backend(t, "a"), backend(t, "b")
	// Both answer /healthz, which set waits for.
	h, err := newHAProxy(bin, t.TempDir(), io.Discard, a.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.close() })
	testRoundRobin(t, h, a, b)
}

// TestCPUQuota puts a busy process into a quota of a tenth of a core and
// reads back that the kernel throttled it.
func TestCPUQuota(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("CPU cgroups need root")
	}
	q, err := newCPUQuota("planner-bench-test-"+strings.ReplaceAll(t.Name(), "/", "-"), 0.1)
	if err != nil {
		t.Skipf("no CPU cgroup here: %v", err)
	}
	cmd := exec.Command("sh", "-c", "end=$(($(date +%s)+2)); while [ $(date +%s) -lt $end ]; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := q.add(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		t.Fatal(err)
	}
	_ = cmd.Wait()
	stat, err := os.ReadFile(q.dir + "/cpu.stat")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.remove(); err != nil {
		t.Errorf("remove: %v", err)
	}
	for _, l := range strings.Split(string(stat), "\n") {
		if f := strings.Fields(l); len(f) == 2 && (f[0] == "nr_throttled") {
			if f[1] == "0" {
				t.Errorf("a busy process in a 0.1-core quota was never throttled:\n%s", stat)
			}
			return
		}
	}
	t.Errorf("cpu.stat has no nr_throttled:\n%s", stat)
}
