package portal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/portal/jobs"
)

// Messages of the failures a team cannot act on. The raw error (a file
// path of the backend, the engine's or AWS's own text, an account's ARN)
// goes to the portal's log under a reference the message names.
const (
	internalMessage = "the portal could not do this: its stack backend or engine failed"
	upstreamNoCode  = "AWS could not be reached"
)

// status is the one place an error meets HTTP: its status, and the field
// and message the answer names. The service's typed errors decide it; a
// call to AWS that failed is a 502 naming AWS's error code only; any other
// error (the backend, the engine, the portal itself) is a 500 that says so
// in words, never in the error's own text (explain logs that).
func status(err error) (code int, field, msg string) {
	err = jobs.Explain(err)
	var (
		form        *FormError
		unavailable *jobs.UnavailableError
		confirm     *jobs.ConfirmError
		tooBig      *http.MaxBytesError
		invalid     *jobs.InvalidError
		notFound    *jobs.NotFoundError
		busy        *jobs.BusyError
		notYours    *jobs.NotYoursError
		limited     *jobs.LimitError
		upstream    *jobs.UpstreamError
	)
	switch {
	case errors.As(err, &form):
		return http.StatusBadRequest, form.Problems[0].Field, form.Problems[0].Message
	case errors.As(err, &unavailable):
		return http.StatusServiceUnavailable, "", unavailable.Error()
	case errors.As(err, &confirm):
		return http.StatusConflict, "confirmDeletes", confirm.Error()
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
	case errors.Is(err, engine.ErrSaturated):
		return http.StatusTooManyRequests, "", "the portal runs as many engine calls as its limit allows; retry later"
	case errors.As(err, &upstream):
		// AWS's API errors (smithy.APIError) name their code.
		if api := (interface{ ErrorCode() string })(nil); errors.As(upstream.Err, &api) {
			return http.StatusBadGateway, "", upstream.What + ": AWS answered " + api.ErrorCode()
		}
		return http.StatusBadGateway, "", upstream.What + ": " + upstreamNoCode
	}
	return http.StatusInternalServerError, "", internalMessage
}

// explain is status for an answer: a failure of the portal's side (5xx)
// is logged with its raw text under a new reference, which the message
// names so an operator can find it.
func (s *Server) explain(err error) (code int, field, msg string) {
	code, field, msg = status(err)
	if code >= http.StatusInternalServerError {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		ref := hex.EncodeToString(b)
		s.opts.Log.Error("request failed", "ref", ref, "status", code, "error", err.Error())
		msg += " (reference " + ref + " in the portal's log)"
	}
	return code, field, msg
}

// fail answers err as the API does: its status and {error, field}; a busy
// stack names the job that holds it, and a limit says when to retry.
func (s *Server) fail(w http.ResponseWriter, err error) {
	code, field, msg := s.explain(err)
	s.retryAfter(w, code)
	var (
		busy    *jobs.BusyError
		form    *FormError
		confirm *jobs.ConfirmError
	)
	switch {
	case errors.As(err, &busy):
		writeJSON(w, code, struct {
			apiError
			Job string `json:"job"`
		}{apiError{Error: msg}, busy.Job})
	case errors.As(err, &form):
		a := apiError{Error: msg, Field: field}
		for _, p := range form.Problems {
			a.Problems = append(a.Problems, problem{Field: p.Field, Error: p.Message})
		}
		writeJSON(w, code, a)
	case errors.As(err, &confirm):
		// The sources to name in confirmDeletes, and what each loses.
		writeJSON(w, code, struct {
			apiError
			Sources []string        `json:"sources"`
			Deletes []jobs.Deletion `json:"deletes,omitempty"`
		}{apiError{Error: msg, Field: field}, confirm.Sources, confirm.Deletes})
	default:
		writeError(w, code, field, msg)
	}
}

// retryAfter tells a client refused for a limit (429) when to retry.
func (s *Server) retryAfter(w http.ResponseWriter, code int) {
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.Limits.RetryAfter/time.Second)))
	}
}

// errorText is err as a page shows it: "field: message".
func (s *Server) errorText(err error) string {
	_, field, msg := s.explain(err)
	if field != "" {
		return field + ": " + msg
	}
	return msg
}
