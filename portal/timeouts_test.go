package portal_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal"
)

var quick = portal.Timeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: 300 * time.Millisecond,
	Idle: 300 * time.Millisecond, Heartbeat: 80 * time.Millisecond}

func quickPortal(t *testing.T) (*portal.Server, *httptest.Server) {
	return portalWith(t, portal.Limits{}, quick)
}

// portalWith serves a portal with limits and timeouts, without an engine
// job ever running.
func portalWith(t *testing.T, limits portal.Limits, timeouts portal.Timeouts) (*portal.Server, *httptest.Server) {
	srv, err := portal.New(portal.Options{
		Tokens:   &portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["pay"])}, "ops": {portal.HashToken(tokens["ops"])}}},
		Engine:   engine.Options{ProjectDir: projectDir, StateDir: t.TempDir(), Passphrase: "test-only"},
		Timeouts: timeouts, Limits: limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Config = portal.HTTPServer("", srv, timeouts)
	hs.Start()
	t.Cleanup(hs.Close)
	return srv, hs
}

// closedWithin reports whether the server closes conn within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		if _, err := conn.Read(buf); err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout())
		}
	}
}

// TestStalledConnectionsAreClosed: a client that never finishes its headers,
// and a keep-alive connection left idle, are closed by the server.
func TestStalledConnectionsAreClosed(t *testing.T) {
	_, hs := quickPortal(t)
	addr := strings.TrimPrefix(hs.URL, "http://")

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("GET /api/stacks HTTP/1.1\r\nHost: portal\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(slow, 3*time.Second) {
		t.Error("a connection that never finished its headers is still open")
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write([]byte("GET / HTTP/1.1\r\nHost: portal\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(idle)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !closedWithin(idle, 3*time.Second) {
		t.Error("an idle keep-alive connection is still open")
	}
}

// TestEventStreamOutlivesTheWriteTimeout: a job's event stream stays open
// past the server's write timeout, with heartbeats while the job is quiet,
// and ends with the done event.
func TestEventStreamOutlivesTheWriteTimeout(t *testing.T) {
	srv, hs := quickPortal(t)
	id, finish, _ := srv.StartTestJob("pay", "pay-dev")
	req, _ := http.NewRequest("GET", hs.URL+"/api/jobs/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["pay"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	heartbeats := 0
	quiet := time.After(4 * quick.Write) // well past the write timeout
	for waiting := true; waiting; {
		select {
		case l, open := <-lines:
			if !open {
				t.Fatalf("the stream ended after %d heartbeats, before the job did", heartbeats)
			}
			if l == ": keep-alive" {
				heartbeats++
			}
		case <-quiet:
			waiting = false
		}
	}
	if heartbeats < 3 {
		t.Errorf("%d heartbeats in %s of quiet", heartbeats, 4*quick.Write)
	}
	finish(nil)
	for l := range lines {
		if l == "event: done" {
			return
		}
	}
	t.Error("the stream ended without the done event")
}
