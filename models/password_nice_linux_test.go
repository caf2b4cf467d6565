package models

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// niceThreads lists this process's threads whose nice value is nice.
func niceThreads(t *testing.T, nice string) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended meanwhile
		}
		// "tid (comm) state ppid ...": nice is the 19th field, the 17th
		// after the command name's closing parenthesis.
		i := strings.LastIndexByte(string(b), ')')
		fields := strings.Fields(string(b)[i+1:])
		if len(fields) > 16 && fields[16] == nice {
			found = append(found, f)
		}
	}
	return found
}

// TestHashRunsOnALowPriorityThread: while a hash runs, one thread of the
// process has the hashing nice value; once it is done, none has, so no
// other goroutine can ever run at that priority.
func TestHashRunsOnALowPriorityThread(t *testing.T) {
	if n := niceThreads(t, "10"); len(n) > 0 {
		t.Fatalf("threads at nice 10 before any hash: %v", n)
	}
	h, err := NewHasher(12, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "correct horse battery staple"); done <- err }()
	seen := false
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			if len(niceThreads(t, "10")) > 0 {
				seen = true
			}
			time.Sleep(time.Millisecond)
		}
	}
	if !seen {
		t.Fatal("no thread at nice 10 while the hash ran")
	}
	// The thread ends as its goroutine exits, just after the hash's answer.
	deadline := time.Now().Add(10 * time.Second)
	for len(niceThreads(t, "10")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a thread at nice 10 outlived its hash: %v", niceThreads(t, "10"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
