package handlers

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/planner/planner/models"
)

// sharedReads shares one kind of read between requests that ask for the
// same key at the same time (the session check of one session, which a
// browser or client sends many requests of at once), the way versionReads
// shares the events version: a request waits for the next read of its key
// that starts after it arrived, and every request that arrives while one
// read runs shares the following one. So each request still gets an
// answer read after it arrived, and a change committed before it came (a
// sign-out, a revocation, a disabled user) is always seen; only requests
// that overlap share.
//
// The zero value is ready to use.
type sharedReads[K comparable, V any] struct {
	// timeout bounds one shared read (0: sharedReadTimeout): it runs on no
	// request's context, since several requests wait for it.
	timeout time.Duration

	mu   sync.Mutex
	keys map[K]*keyReads[V] // only keys with a read running or waiting
}

// keyReads is the reads of one key.
type keyReads[V any] struct {
	next    *sharedRead[V] // the read the next arrivals join; nil when none waits
	running bool           // a read is in flight
}

// sharedRead is one read and its answer.
type sharedRead[V any] struct {
	done    chan struct{}
	value   V
	err     error
	waiters int // requests that joined it, under sharedReads.mu
}

// sharedReadTimeout bounds a shared read when nothing else does.
const sharedReadTimeout = 10 * time.Second

// get returns the answer of a read of key that started after the call
// did, made by read (which must read the same thing for the same key).
func (s *sharedReads[K, V]) get(ctx context.Context, key K, read func(context.Context) (V, error)) (V, error) {
	s.mu.Lock()
	if s.keys == nil {
		s.keys = map[K]*keyReads[V]{}
	}
	kr := s.keys[key]
	if kr == nil {
		kr = &keyReads[V]{}
		s.keys[key] = kr
	}
	if kr.next == nil {
		kr.next = &sharedRead[V]{done: make(chan struct{})}
	}
	r := kr.next
	r.waiters++
	lead := !kr.running
	kr.running = true
	s.mu.Unlock()
	if lead {
		// Let requests that are about to ask join this read first.
		runtime.Gosched()
		go s.run(ctx, key, kr, read)
	}
	select {
	case <-r.done:
		return r.value, r.err
	case <-ctx.Done():
		// The request's deadline or its client ended the wait: a 503 with
		// Retry-After, as a query cut short would be.
		var zero V
		return zero, fmt.Errorf("wait for a shared read: %w: %w", models.ErrTimeout, ctx.Err())
	}
}

// run performs the read every request waiting so far has joined, then the
// one those that arrived meanwhile joined, until none waits.
func (s *sharedReads[K, V]) run(ctx context.Context, key K, kr *keyReads[V], read func(context.Context) (V, error)) {
	for {
		s.mu.Lock()
		r := kr.next
		kr.next = nil // later arrivals join the next read, which starts after this one
		s.mu.Unlock()
		timeout := s.timeout
		if timeout <= 0 {
			timeout = sharedReadTimeout
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		r.value, r.err = read(rctx)
		cancel()
		close(r.done)
		s.mu.Lock()
		if kr.next == nil {
			kr.running = false
			delete(s.keys, key)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}
