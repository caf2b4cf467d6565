package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a binary the driver started: Planner or the baseline.
type server struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it listens on
	url  string // http://addr
	done chan error
}

// start runs bin with args and env and waits (up to a minute) for the line
// on its stdout that starts with prefix and ends with the URL it listens
// on. Its stderr (the request log) goes to logw.
func start(name, bin string, args, env []string, prefix string, logw io.Writer) (*server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = logw
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if line := sc.Text(); !sent && strings.HasPrefix(line, prefix) {
				found <- strings.TrimSpace(strings.TrimPrefix(line, prefix))
				sent = true
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case u := <-found:
		s.url = u
		s.addr = strings.TrimPrefix(u, "http://")
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("%s exited before serving: %v", name, err)
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not start within a minute", name)
	}
}

// startPolled runs bin with args and env, listening on addr, and waits
// (up to a minute) until GET health answers 200: for servers that print no
// line of ours (PocketBase). Its output goes to logw.
func startPolled(name, bin string, args, env []string, addr, health string, logw io.Writer) (*server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, addr: addr, url: "http://" + addr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		if res, err := hc.Get(s.url + health); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("%s exited before serving: %v", name, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-s.done
			return nil, fmt.Errorf("%s did not answer %s within a minute", name, health)
		}
	}
}

// freeAddr is a loopback address with a port free a moment ago, for
// servers that cannot be told to pick one.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// stop ends the server with SIGTERM (graceful), or kills it after 15 s.
func (s *server) stop() error {
	if s == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s exited with %v", s.name, err)
		}
		return err
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s did not stop within 15 s; killed", s.name)
	}
}

// peakRSS is the process's peak resident set (VmHWM) in bytes.
func (s *server) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}
