package portal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/ops/archive"
	"github.com/hookline/hookline/portal/jobs"
)

// DefaultArchive is an S3 client of region with the portal's own AWS
// credentials (the default chain): it needs s3:ListBucket and s3:GetObject
// on the stacks' archive buckets, s3:PutObject on their replays/ prefix and
// kms:Decrypt / kms:GenerateDataKey on their archive keys.
func DefaultArchive(ctx context.Context, region string) (archive.StoreAPI, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg), nil
}

// ArchiveView is what a search of a source's archive found: the outcome
// counts of the window, and its deliveries, newest first (never a body).
type ArchiveView struct {
	Source string    `json:"source"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Counts are the window's deliveries by last outcome.
	Counts map[string]int `json:"counts"`
	// Deliveries are the newest maxArchiveRows; Total counts them all.
	Deliveries []ArchiveRow `json:"deliveries"`
	Total      int          `json:"total"`
	// Objects were read; Skipped objects and lines could not be.
	Objects int `json:"objects"`
	Skipped int `json:"skipped"`
}

// ArchiveRow is one archived delivery, without its body.
type ArchiveRow struct {
	Time      time.Time `json:"time"`
	Group     string    `json:"group"`
	EventID   string    `json:"eventId,omitempty"`
	MessageID string    `json:"messageId"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	Size      int       `json:"size"`
	// Resend names who re-sent it (dlq, redrive, replay-…), "" for a
	// sender's delivery.
	Resend string `json:"resend,omitempty"`
}

// maxArchiveRows is how many deliveries a search shows.
const maxArchiveRows = 50

// archiveQuery reads a search or a replay's selection from a form or a
// query string: from and to (RFC 3339, or a browser's date-time field
// read as UTC; default: the last hour), group (comma-separated), eventId,
// outcome, where (one per line).
func archiveQuery(source string, v url.Values, now time.Time) (archive.Query, error) {
	q := archive.Query{Source: source, From: now.Add(-time.Hour), To: now, EventID: strings.TrimSpace(v.Get("eventId")),
		Outcome: strings.TrimSpace(v.Get("outcome"))}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		s := strings.TrimSpace(v.Get(f.name))
		if s == "" {
			continue
		}
		t, err := parseFormTime(s)
		if err != nil {
			return q, &FieldError{Field: f.name, Message: err.Error()}
		}
		*f.dst = t
	}
	for _, g := range strings.Split(v.Get("group"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			q.Groups = append(q.Groups, g)
		}
	}
	for _, w := range strings.Split(v.Get("where"), "\n") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		c, err := archive.ParseCondition(w)
		if err != nil {
			return q, &FieldError{Field: "where", Message: err.Error()}
		}
		q.Where = append(q.Where, c)
	}
	if err := q.Validate(); err != nil {
		return q, &FieldError{Field: "window", Message: err.Error()}
	}
	return q, nil
}

// parseFormTime reads RFC 3339, or a date-time field's value (no zone: UTC).
func parseFormTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 (2006-01-02T15:04:05Z) or 2006-01-02T15:04 (UTC)", s)
}

// archiveView searches a source of team's stack: the owner is checked
// first, so a team never reads another team's archive.
func (s *Server) archiveView(ctx context.Context, team, stack string, q archive.Query) (ArchiveView, error) {
	src, err := s.jobs.ArchivedSource(ctx, team, stack, q.Source)
	if err != nil {
		return ArchiveView{}, err
	}
	return s.searchArchive(ctx, src.Region, src.ArchiveBucket, q)
}

// searchArchive searches an archive bucket (its stack's owner checked by
// the caller).
func (s *Server) searchArchive(ctx context.Context, region, bucket string, q archive.Query) (ArchiveView, error) {
	api, err := s.opts.Archive(ctx, region)
	if err != nil {
		return ArchiveView{}, fmt.Errorf("an S3 client of %s: %w", region, err)
	}
	res, err := archive.Search(ctx, api, bucket, q)
	if err != nil {
		return ArchiveView{}, &jobs.UpstreamError{What: "search the archive", Err: err}
	}
	v := ArchiveView{Source: q.Source, From: q.From.UTC(), To: q.To.UTC(), Counts: map[string]int{}, Deliveries: []ArchiveRow{},
		Total: len(res.Deliveries), Objects: res.Objects, Skipped: res.SkippedObjects + res.SkippedLines}
	for _, d := range res.Deliveries {
		v.Counts[d.Outcome]++
	}
	newest := slices.Clone(res.Deliveries)
	slices.Reverse(newest)
	for _, d := range newest[:min(len(newest), maxArchiveRows)] {
		v.Deliveries = append(v.Deliveries, ArchiveRow{Time: d.Entry.Received(), Group: d.Entry.Group, EventID: d.Entry.EventID,
			MessageID: d.Entry.MessageID, Outcome: d.Outcome, Reason: d.Reason, Size: d.Entry.Size, Resend: d.Resend()})
	}
	return v, nil
}

// getArchive searches a source's archive: GET …/archive?from&to&group&eventId&outcome&where.
func (s *Server) getArchive(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	q, err := archiveQuery(r.PathValue("source"), r.URL.Query(), time.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	v, err := s.archiveView(r.Context(), team, StackName(team, env), q)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// replay starts a replay job: {from, to, groups, eventId, outcome, where,
// onlyFailed, reprocess}.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, id Identity) {
	var body struct {
		From       string   `json:"from"`
		To         string   `json:"to"`
		Groups     []string `json:"groups"`
		EventID    string   `json:"eventId"`
		Outcome    string   `json:"outcome"`
		Where      []string `json:"where"`
		OnlyFailed bool     `json:"onlyFailed"`
		Reprocess  bool     `json:"reprocess"`
	}
	if err := decodeStrict(r, &body); err != nil {
		s.fail(w, &FieldError{Field: "body", Message: "want {from, to, groups, eventId, outcome, where, onlyFailed, reprocess}"})
		return
	}
	if body.From == "" || body.To == "" {
		s.fail(w, &FieldError{Field: "window", Message: "from and to are required (RFC 3339)"})
		return
	}
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	v := url.Values{"from": {body.From}, "to": {body.To}, "group": {strings.Join(body.Groups, ",")}, "eventId": {body.EventID},
		"outcome": {body.Outcome}, "where": {strings.Join(body.Where, "\n")}}
	j, err := s.startReplay(r.Context(), team, env, r.PathValue("source"), v, body.OnlyFailed, body.Reprocess)
	s.started(w, id, team, j, err)
}

// startReplay starts a replay of a source of team's env.
func (s *Server) startReplay(ctx context.Context, team, env, source string, v url.Values, onlyFailed, reprocess bool) (*jobs.Job, error) {
	if !contract.ValidSourceName(source) {
		return nil, &FieldError{Field: "source", Message: fmt.Sprintf("%q is not a source name", source)}
	}
	q, err := archiveQuery(source, v, time.Now())
	if err != nil {
		return nil, err
	}
	uc := &jobs.Replay{Service: s.jobs, Team: team, Stack: StackName(team, env), Source: source, Query: q, OnlyFailed: onlyFailed, Reprocess: reprocess}
	return uc.Run(ctx)
}

// pageArchive shows a source's archive search: the form, the outcome
// counts and deliveries found, and a form to replay them.
func (s *Server) pageArchive(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, source := pageTeam(r, id), r.PathValue("env"), r.PathValue("source")
	stack := StackName(team, env)
	data := map[string]any{"SignedIn": true, "Env": env, "Stack": stack, "Source": source, "Team": team, "Admin": id.Admin,
		"Form": formValues(r.URL.Query()), "Outcomes": archive.Outcomes}
	err := stackRef(id, team, env)
	var q archive.Query
	if err == nil {
		q, err = archiveQuery(source, r.URL.Query(), time.Now())
	}
	var v ArchiveView
	if err == nil {
		v, err = s.archiveView(r.Context(), team, stack, q)
	}
	if err != nil {
		data["Error"] = s.errorText(err)
		s.renderStatus(w, s.pageStatus(w, err), "archive.html", data)
		return
	}
	data["View"] = v
	data["Counts"] = outcomeCounts(v.Counts)
	s.render(w, "archive.html", data)
}

// formValues are a search's fields as its form shows them back.
func formValues(v url.Values) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"from", "to", "group", "eventId", "outcome", "where"} {
		out[k] = v.Get(k)
	}
	return out
}

// outcomeCount is one outcome's count, in the order outcomes are shown.
type outcomeCount struct {
	Outcome string
	N       int
}

func outcomeCounts(counts map[string]int) []outcomeCount {
	var out []outcomeCount
	for _, o := range []string{contract.ArchiveOK, contract.ArchiveRetry, contract.ArchiveDeadLettered, contract.ArchiveRejected} {
		out = append(out, outcomeCount{o, counts[o]})
	}
	return out
}

// pageReplay starts a replay from the archive page and shows its job.
func (s *Server) pageReplay(w http.ResponseWriter, r *http.Request, id Identity) {
	team, env, source := pageTeam(r, id), r.PathValue("env"), r.PathValue("source")
	err := r.ParseForm()
	if err == nil {
		err = stackRef(id, team, env)
	}
	var j *jobs.Job
	if err == nil {
		j, err = s.startReplay(r.Context(), team, env, source, r.PostForm, r.FormValue("onlyFailed") == "true", r.FormValue("reprocess") == "true")
	}
	if err != nil {
		back := "/stacks/" + url.PathEscape(env) + "/sources/" + url.PathEscape(source) + "/archive?" + r.PostForm.Encode()
		http.Redirect(w, r, back+"&error="+url.QueryEscape(s.errorText(err)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/jobs/"+url.PathEscape(j.ID()), http.StatusSeeOther)
}
