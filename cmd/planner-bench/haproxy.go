package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// balancer is the one port the scale-out workload measures, in front of
// one backend and then two.
type balancer interface {
	addr() string // http://host:port
	set(backends ...string) error
	close() error
}

func (p *proxy) addr() string { return p.url }

// haproxy is Debian's HAProxy as the balancer, in TCP mode: each client
// connection goes to the next instance in turn and all its requests with
// it, as a layer-4 balancer (a cloud's network load balancer) does, so
// wrk's connections split evenly. It costs a fraction of what Planner
// spends per request, where the Go proxy (httputil.ReverseProxy) costs
// about as much as a cached read itself; and in HTTP mode, balancing each
// request, it measured lower than TCP mode with two instances than with
// one, on 2 cores. set restarts it on the same port with the new servers;
// the configuration is the same but for them.
type haproxy struct {
	bin, dir string
	url      string
	logw     io.Writer
	cmd      *exec.Cmd
	done     chan error
}

// newHAProxy starts bin in front of backends, its files in dir.
func newHAProxy(bin, dir string, logw io.Writer, backends ...string) (*haproxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return nil, err
	}
	h := &haproxy{bin: bin, dir: dir, url: "http://" + addr, logw: logw}
	if err := h.set(backends...); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *haproxy) addr() string { return h.url }

// haproxyConfig is the configuration for listening on addr in front of
// backends (http://host:port).
func haproxyConfig(addr string, backends []string) (string, error) {
	if len(backends) == 0 {
		return "", errors.New("haproxy: no backend")
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global
	maxconn 4096
	nbthread 1

defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s

frontend planner
	bind %s
	default_backend instances

backend instances
	balance roundrobin
`, addr)
	for i, u := range backends {
		host, ok := strings.CutPrefix(u, "http://")
		if !ok || strings.ContainsAny(host, "/ \n") || host == "" {
			return "", fmt.Errorf("haproxy: backend %q is not http://host:port", u)
		}
		fmt.Fprintf(&b, "\tserver planner%d %s\n", i+1, host)
	}
	return b.String(), nil
}

func (h *haproxy) set(backends ...string) error {
	cfg, err := haproxyConfig(strings.TrimPrefix(h.url, "http://"), backends)
	if err != nil {
		return err
	}
	if err := h.close(); err != nil {
		return err
	}
	file := filepath.Join(h.dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(h.bin, "-db", "-f", file)
	cmd.Stdout, cmd.Stderr = h.logw, h.logw
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start haproxy: %w", err)
	}
	h.cmd, h.done = cmd, make(chan error, 1)
	go func() { h.done <- cmd.Wait() }()
	// Ready once it answers through to a backend.
	hc := &http.Client{Timeout: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/healthz", nil)
		if res, err := hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-h.done:
			h.cmd = nil
			return fmt.Errorf("haproxy exited: %v", err)
		case <-ctx.Done():
			return errors.New("haproxy did not answer within 30 s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (h *haproxy) close() error {
	if h.cmd == nil {
		return nil
	}
	_ = h.cmd.Process.Signal(os.Interrupt)
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
	h.cmd = nil
	return nil
}
