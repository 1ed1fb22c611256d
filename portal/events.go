package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// jobEvents streams a job's progress as Server-Sent Events: one "message"
// per line, then a "done" event with the job.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request, id Identity) {
	j, ok := s.job(id, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "", "no such job")
		return
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	n := 0
	for {
		lines, ended, changed := j.since(n)
		for _, l := range lines {
			fmt.Fprintf(w, "data: %s\n\n", strings.ReplaceAll(l, "\n", " "))
		}
		n += len(lines)
		if ended {
			b, _ := json.Marshal(j.snapshot(id.Team == j.Team))
			fmt.Fprintf(w, "event: done\ndata: %s\n\n", b)
			if flusher != nil {
				flusher.Flush()
			}
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		}
	}
}
