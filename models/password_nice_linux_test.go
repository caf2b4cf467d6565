package models

import (
	"context"
	"fmt"
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

// TestHashRunsOnALowPriorityThread: while a hash runs, a thread of the
// process that was not at the hashing nice value before is at it; once
// the hash is done, that thread is gone, so no other goroutine can ever
// run at that priority. (Threads other tests of the package hashed on may
// still be ending as this one starts: they are left out.)
func TestHashRunsOnALowPriorityThread(t *testing.T) {
	before := map[string]bool{}
	for _, f := range niceThreads(t, "10") {
		before[f] = true
	}
	h, err := NewHasher(12, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "correct horse battery staple"); done <- err }()
	hashing := ""
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			for _, f := range niceThreads(t, "10") {
				if !before[f] {
					hashing = f
				}
			}
			time.Sleep(time.Millisecond)
		}
	}
	if hashing == "" {
		t.Fatal("no thread went to nice 10 while the hash ran")
	}
	if hashing == fmt.Sprintf("/proc/self/task/%d/stat", os.Getpid()) {
		return // the main thread, which Go parks for good instead of ending
	}
	// The thread ends as its goroutine exits, just after the hash's answer.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(hashing); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the thread the hash ran on outlived it: %s", hashing)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
