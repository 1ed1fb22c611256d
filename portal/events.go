package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// jobEvents streams a job's progress as Server-Sent Events: one "message"
// per line of its log, a "progress" event (the Progress) after each change,
// then a "done" event with the job. The stream outlives the
// server's write timeout by moving its own write deadline forward at each
// write (http.ResponseController), and a quiet stream sends a comment line
// every Timeouts.Heartbeat; a client that stops reading is cut off after
// Timeouts.Write.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request, id Identity) {
	j, err := s.job(r.Context(), id, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	send := func(format string, a ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.Timeouts.Write))
		if _, err := fmt.Fprintf(w, format, a...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	heartbeat := time.NewTicker(s.opts.Timeouts.Heartbeat)
	defer heartbeat.Stop()
	n := 0
	if !send(": stream of job %s\n\n", j.ID()) {
		return
	}
	fresh := true // the job changed since the last progress event (a heartbeat changes nothing)
	for {
		lines, ended, changed := j.Since(n)
		for _, l := range lines {
			if !send("data: %s\n\n", strings.ReplaceAll(l, "\n", " ")) {
				return
			}
		}
		n += len(lines)
		if fresh {
			if p, err := json.Marshal(j.Progress()); err == nil && !send("event: progress\ndata: %s\n\n", p) {
				return
			}
			fresh = false
		}
		if ended {
			b, _ := json.Marshal(j.View(id.Team == j.Team()))
			send("event: done\ndata: %s\n\n", b)
			return
		}
		select {
		case <-changed:
			fresh = true
		case <-heartbeat.C:
			if !send(": keep-alive\n\n") {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}
