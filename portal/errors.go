package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookline/hookline/portal/jobs"
)

// status is the one place an error meets HTTP: its status, and the field
// and message the answer names. The service's typed errors decide it; any
// other error (the backend, the engine, the portal itself) is a 500 with
// its message.
func status(err error) (code int, field, msg string) {
	var (
		tooBig   *http.MaxBytesError
		invalid  *jobs.InvalidError
		notFound *jobs.NotFoundError
		busy     *jobs.BusyError
		notYours *jobs.NotYoursError
		limited  *jobs.LimitError
		upstream *jobs.UpstreamError
	)
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("bodies are limited to %d bytes", MaxBody)
	case errors.As(err, &invalid):
		return http.StatusBadRequest, invalid.Field, invalid.Message
	case errors.As(err, &notFound):
		return http.StatusNotFound, notFound.Field, notFound.Message
	case errors.As(err, &busy):
		return http.StatusConflict, "", busy.Error()
	case errors.As(err, &notYours):
		return http.StatusConflict, "", notYours.Error()
	case errors.As(err, &limited):
		return http.StatusTooManyRequests, "", limited.Error()
	case errors.As(err, &upstream):
		return http.StatusBadGateway, "", upstream.Error()
	}
	return http.StatusInternalServerError, "", err.Error()
}

// fail answers err as the API does: its status and {error, field}; a busy
// stack names the job that holds it, and a limit says when to retry.
func (s *Server) fail(w http.ResponseWriter, err error) {
	code, field, msg := status(err)
	s.retryAfter(w, code)
	var busy *jobs.BusyError
	if errors.As(err, &busy) {
		writeJSON(w, code, struct {
			apiError
			Job string `json:"job"`
		}{apiError{Error: msg}, busy.Job})
		return
	}
	writeError(w, code, field, msg)
}

// retryAfter tells a client refused for a limit (429) when to retry.
func (s *Server) retryAfter(w http.ResponseWriter, code int) {
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.Limits.RetryAfter/time.Second)))
	}
}

// errorText is err as a page shows it: "field: message".
func errorText(err error) string {
	_, field, msg := status(err)
	if field != "" {
		return field + ": " + msg
	}
	return msg
}
