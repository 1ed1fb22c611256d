package portal

import (
	"context"
	"net/http"
	"net/url"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/hookline/hookline/ops/pause"
	"github.com/hookline/hookline/portal/jobs"
)

// LambdaAPI is what the portal asks of Lambda: a source's event source
// mapping, read and enabled or disabled (pause and resume).
type LambdaAPI = pause.API

// DefaultLambda is a Lambda client of region with the portal's own AWS
// credentials (the default chain).
func DefaultLambda(ctx context.Context, region string) (LambdaAPI, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, err
	}
	return lambda.NewFromConfig(cfg), nil
}

// pauseSource pauses a source (POST …/pause) and resumeSource resumes it
// (POST …/resume); each answers the source's state after.
func (s *Server) pauseSource(w http.ResponseWriter, r *http.Request, id Identity) {
	s.setPaused(w, r, id, false)
}

func (s *Server) resumeSource(w http.ResponseWriter, r *http.Request, id Identity) {
	s.setPaused(w, r, id, true)
}

func (s *Server) setPaused(w http.ResponseWriter, r *http.Request, id Identity, enabled bool) {
	team, env, err := pathStack(r, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	uc := &jobs.Pause{Service: s.jobs, Team: team, Stack: StackName(team, env), Source: r.PathValue("source"), Enabled: enabled}
	st, err := uc.Run(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// pagePause and pageResume pause or resume a source from the environment
// page and show that page again, saying what changed.
func (s *Server) pagePause(w http.ResponseWriter, r *http.Request, id Identity) {
	s.pageSetPaused(w, r, id, false)
}

func (s *Server) pageResume(w http.ResponseWriter, r *http.Request, id Identity) {
	s.pageSetPaused(w, r, id, true)
}

func (s *Server) pageSetPaused(w http.ResponseWriter, r *http.Request, id Identity, enabled bool) {
	team, env, source := pageTeam(r, id), r.PathValue("env"), r.PathValue("source")
	err := stackRef(id, team, env)
	var st jobs.SourceState
	if err == nil {
		uc := &jobs.Pause{Service: s.jobs, Team: team, Stack: StackName(team, env), Source: source, Enabled: enabled}
		st, err = uc.Run(r.Context())
	}
	if err != nil {
		http.Redirect(w, r, envLinkWith(id, team, env, "error="+url.QueryEscape(s.errorText(err))), http.StatusSeeOther)
		return
	}
	notice := source + " is resumed: its consumer processes the queue again, in order"
	if st.Paused {
		notice = source + " is paused: webhooks keep arriving and wait, in order, in its queue until you resume it"
	}
	http.Redirect(w, r, envLinkWith(id, team, env, "notice="+url.QueryEscape(notice)), http.StatusSeeOther)
}
