package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Mapping is a Lambda event source mapping the fake serves (Lambda's
// REST-JSON API: ListEventSourceMappings, UpdateEventSourceMapping).
type Mapping struct {
	UUID, FunctionName, EventSourceArn string
	// State is Enabled or Disabled (the fake settles a change at once;
	// Lambda answers Enabling or Disabling first).
	State string
}

// AddMapping serves an event source mapping; AWS_ENDPOINT_URL_LAMBDA
// points the SDK at the fake.
func (s *Server) AddMapping(m Mapping) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mappings = append(s.mappings, m)
}

// Mappings returns the mappings as they are now.
func (s *Server) Mappings() []Mapping {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mapping(nil), s.mappings...)
}

const mappingsPath = "/2015-03-31/event-source-mappings"

// serveLambda answers Lambda's event source mapping calls: GET
// /2015-03-31/event-source-mappings/?FunctionName=…&EventSourceArn=… and
// PUT /2015-03-31/event-source-mappings/{UUID} with {"Enabled": bool}.
func (s *Server) serveLambda(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	view := func(m Mapping) map[string]any {
		return map[string]any{"UUID": m.UUID, "FunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:" + m.FunctionName,
			"EventSourceArn": m.EventSourceArn, "State": m.State}
	}
	switch uuid := strings.Trim(strings.TrimPrefix(r.URL.Path, mappingsPath), "/"); {
	case r.Method == http.MethodGet && uuid == "":
		s.calls = append(s.calls, "Lambda.ListEventSourceMappings")
		fn, src := r.URL.Query().Get("FunctionName"), r.URL.Query().Get("EventSourceArn")
		out := []map[string]any{}
		for _, m := range s.mappings {
			if (fn == "" || fn == m.FunctionName) && (src == "" || src == m.EventSourceArn) {
				out = append(out, view(m))
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"EventSourceMappings": out})
	case r.Method == http.MethodPut && uuid != "":
		s.calls = append(s.calls, "Lambda.UpdateEventSourceMapping")
		var in struct{ Enabled *bool }
		_ = json.Unmarshal(body, &in)
		for i := range s.mappings {
			if s.mappings[i].UUID != uuid {
				continue
			}
			if in.Enabled != nil {
				s.mappings[i].State = map[bool]string{true: "Enabled", false: "Disabled"}[*in.Enabled]
			}
			out := view(s.mappings[i])
			out["State"] = map[string]string{"Enabled": "Enabling", "Disabled": "Disabling"}[s.mappings[i].State]
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, `{"Type":"User","Message":"The resource you requested does not exist. (Service: Lambda, Status Code: 404)"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}
