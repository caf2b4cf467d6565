package main

import (
	"runtime/debug"
	"testing"
)

// gcSettings reads GOGC and the soft memory limit without changing them.
func gcSettings() (percent int, limit int64) {
	percent = debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1) // a negative limit only reads
}

// TestServeLeavesGCAlone: run (which tests call) must not retune the
// process's collector; only main does.
func TestServeLeavesGCAlone(t *testing.T) {
	p0, l0 := gcSettings()
	e := devEnv(t)
	addr := freeAddr(t)
	s := startServer(t, e, addr, "serve", "--addr", addr)
	s.cancel()
	<-s.done
	s.done <- nil // for startServer's cleanup
	if p, l := gcSettings(); p != p0 || l != l0 {
		t.Errorf("serve changed GC settings: GOGC %d→%d, memory limit %d→%d", p0, p, l0, l)
	}
}

// TestTuneGC checks the defaults, that GOGC and GOMEMLIMIT win, and the
// limit derived from the machine.
func TestTuneGC(t *testing.T) {
	p0, l0 := gcSettings()
	t.Cleanup(func() { debug.SetGCPercent(p0); debug.SetMemoryLimit(l0) })

	tuneGC(env{}.get, 8<<30)
	if p, l := gcSettings(); p != 400 || l != 4<<30 {
		t.Errorf("defaults on an 8 GiB machine: GOGC %d, limit %d; want 400 and 4 GiB", p, l)
	}
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(l0)
	tuneGC(env{"GOGC": "50", "GOMEMLIMIT": "1GiB"}.get, 8<<30)
	if p, l := gcSettings(); p != 100 || l != l0 {
		t.Errorf("with GOGC and GOMEMLIMIT set, tuneGC changed them: %d, %d", p, l)
	}
	tuneGC(env{}.get, 0)
	if _, l := gcSettings(); l != l0 {
		t.Errorf("unknown machine size set a limit of %d", l)
	}
	if got := memTotal("MemFree: 10 kB\nMemTotal:       24592500 kB\n"); got != 24592500*1024 {
		t.Errorf("memTotal = %d", got)
	}
	if got := memTotal("nothing here"); got != 0 {
		t.Errorf("memTotal of garbage = %d", got)
	}
}
