package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// proxy is the one port the scale-out workload measures: a reverse proxy
// that sends each request to the next of its backends in turn. The same
// proxy serves one backend and then two, so what it costs is in both
// figures alike.
type proxy struct {
	url      string
	srv      *http.Server
	backends atomic.Pointer[[]*url.URL]
	next     atomic.Uint64
}

// newProxy listens on a free loopback port and sends requests to
// backends; errors of the proxied requests go to logw.
func newProxy(logw *log.Logger, backends ...string) (*proxy, error) {
	p := &proxy{}
	if err := p.set(backends...); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.url = "http://" + ln.Addr().String()
	rp := &httputil.ReverseProxy{
		// Only the target changes: no X-Forwarded-For (Planner's per-IP
		// limit is off in the load run), the client's Host dropped for the
		// backend's.
		Rewrite:    func(r *httputil.ProxyRequest) { r.SetURL(p.pick()) },
		Transport:  proxyTransport(),
		BufferPool: &bufferPool{},
		ErrorLog:   logw,
	}
	p.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logw}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// proxyTransport keeps a connection per client connection open to each
// backend: the default two idle connections per host would make the
// proxy dial for most requests under 64 connections of wrk.
func proxyTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// set makes the proxy send requests to these backends (http://host:port),
// in turn.
func (p *proxy) set(backends ...string) error {
	if len(backends) == 0 {
		return errors.New("proxy: no backend")
	}
	us := make([]*url.URL, len(backends))
	for i, b := range backends {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			return fmt.Errorf("proxy: backend %q is not a URL", b)
		}
		us[i] = u
	}
	p.backends.Store(&us)
	return nil
}

// pick is the next backend, round-robin.
func (p *proxy) pick() *url.URL {
	bs := *p.backends.Load()
	return bs[(p.next.Add(1)-1)%uint64(len(bs))]
}

func (p *proxy) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}

// bufferPool reuses the proxy's copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(v []byte) { b.p.Put(&v) }
