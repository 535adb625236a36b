package idleconn

import (
	"net"
	"net/http"
	"time"
)

// Transport returns an HTTP transport with http.DefaultTransport's
// settings (proxies from the environment, HTTP/2, the pool's limits and
// timeouts, a 30 s dial timeout) whose connections are DialContext's: a
// request fails once its connection has moved nothing for timeout (0:
// DefaultTimeout). Callers may change its fields before its first use.
func Transport(timeout time.Duration) *http.Transport {
	t := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, MaxIdleConns: 100,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second, ExpectContinueTimeout: time.Second}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	}
	t.DialContext = DialContext(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, timeout)
	return t
}
