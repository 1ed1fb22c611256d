package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// queueType is the engine's type of an SQS queue: deleting or replacing one
// deletes the messages it holds.
const queueType = "aws:sqs/queue:Queue"

// Deletion is something an apply of a request deletes with the messages it
// holds: a deployed source the request no longer has (Whole: its queue and
// DLQ go with it, its function, alarms and route too), or a kept source's
// queue the engine deletes or replaces (a replaced queue starts empty). An
// apply that deletes one needs a confirmation naming its Source.
type Deletion struct {
	Source string `json:"source"`
	Whole  bool   `json:"whole"`
	// Queues are the queues deleted, by resource name (none listed for a
	// whole source: its queue and DLQ).
	Queues []string `json:"queues,omitempty"`
	// Messages is how many messages they hold, as SQS counts them (visible
	// and in flight) when the preview ran; nil when SQS could not be read.
	Messages *int `json:"messages"`
	// Text says it in a sentence: "refunds — will be deleted, with its
	// queue and DLQ holding 3 messages".
	Text string `json:"text"`
}

// messagesText is a count of messages in words ("an unknown number of
// messages" when nil).
func messagesText(n *int) string {
	switch {
	case n == nil:
		return "an unknown number of messages"
	case *n == 1:
		return "1 message"
	}
	return fmt.Sprintf("%d messages", *n)
}

// describe fills d's Text.
func (d *Deletion) describe() {
	if d.Whole {
		d.Text = fmt.Sprintf("%s — will be deleted, with its queue and DLQ holding %s", d.Source, messagesText(d.Messages))
		return
	}
	d.Text = fmt.Sprintf("%s — its %s will be deleted (a replaced queue starts empty), holding %s",
		d.Source, strings.Join(d.Queues, " and "), messagesText(d.Messages))
}

// Removed are the sources deployed in outs that a request of sources no
// longer has, sorted.
func Removed(outs *stackoutputs.Stack, sources []string) []string {
	if outs == nil {
		return nil
	}
	var out []string
	for name := range outs.Sources {
		if !slices.Contains(sources, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// deletions are what an apply of a preview's request deletes: the sources
// outs has deployed that the request drops, and the queues of kept sources
// the preview's steps delete or replace; each with the messages its queues
// hold now (read from SQS when the service can).
func (s *Service) deletions(ctx context.Context, stack, region string, outs *stackoutputs.Stack, sources []string, steps []Step) []Deletion {
	var out []Deletion
	for _, name := range Removed(outs, sources) {
		o := outs.Sources[name]
		d := Deletion{Source: name, Whole: true}
		d.Messages = s.countMessages(ctx, region, o.QueueURL, o.DLQURL)
		out = append(out, d)
	}
	kept := map[string]*Deletion{}
	var order []string
	for _, st := range steps {
		if st.Type != queueType || (st.Op != "delete" && st.Op != "replace") {
			continue
		}
		src := ownerOf(stack, sources, st.URN)
		if src == "" {
			continue
		}
		if kept[src] == nil {
			kept[src] = &Deletion{Source: src}
			order = append(order, src)
		}
		kept[src].Queues = append(kept[src].Queues, st.Name)
	}
	for _, src := range order {
		d := kept[src]
		var urls []string
		if outs != nil {
			o := outs.Sources[src]
			for _, q := range d.Queues {
				switch {
				case strings.HasSuffix(q, "-dlq"):
					urls = append(urls, o.DLQURL)
				case strings.HasSuffix(q, "-queue"):
					urls = append(urls, o.QueueURL)
				default:
					urls = append(urls, "")
				}
			}
		}
		d.Messages = s.countMessages(ctx, region, urls...)
		out = append(out, *d)
	}
	for i := range out {
		out[i].describe()
	}
	return out
}

// countMessages sums the messages the queues hold (nil when any cannot be
// read, or the service has no way to count).
func (s *Service) countMessages(ctx context.Context, region string, urls ...string) *int {
	if s.cfg.Depth == nil || len(urls) == 0 {
		return nil
	}
	total := 0
	for _, u := range urls {
		if u == "" {
			return nil
		}
		n, err := s.cfg.Depth(ctx, region, u)
		if err != nil {
			s.cfg.Log.Info("count the messages of a queue to be deleted", "queue", u, "error", err.Error())
			return nil
		}
		total += n
	}
	return &total
}

// deployed reads the outputs of a stack the backend has (nil when it has
// none, or was never applied).
func deployed(ctx context.Context, st *engine.Stack) (*stackoutputs.Stack, error) {
	raw, err := st.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	return ReadOutputs(raw)
}

// ConfirmError is an apply that would delete sources or queues, and the
// messages they hold, without a confirmation naming each of Sources.
type ConfirmError struct {
	Stack   string
	Sources []string
	// Deletes are what the apply deletes, as its preview found them
	// (empty when no preview of this process saw them).
	Deletes []Deletion
}

// Error names what must be confirmed.
func (e *ConfirmError) Error() string {
	var what []string
	for _, src := range e.Sources {
		text := "source " + src + " (its queue and DLQ with the messages they hold)"
		for _, d := range e.Deletes {
			if d.Source == src {
				text = d.Text
			}
		}
		what = append(what, text)
	}
	return fmt.Sprintf("this apply of %s deletes %s: confirm each by name (%s) to apply it", e.Stack, strings.Join(what, "; "),
		strings.Join(e.Sources, ", "))
}

// toConfirm are the deletions an apply of req on stack needs confirmed:
// those the last preview of the request found, and, read from the stack
// itself (so a preview this process never saw counts too), every deployed
// source the request drops.
func (s *Service) toConfirm(ctx context.Context, stack string, req Request) ([]string, []Deletion, error) {
	var names []string
	var dels []Deletion
	rec, ok, err := s.store.LatestPreview(ctx, stack, req.Hash)
	if err != nil {
		return nil, nil, fmt.Errorf("look up the preview of %s: %w", stack, err)
	}
	if ok {
		dels = rec.Deletes
		for _, d := range rec.Deletes {
			names = append(names, d.Source)
		}
	}
	st, err := engine.Select(ctx, s.engine(stack, nil))
	switch {
	case errors.Is(err, engine.ErrNoStack):
	case err != nil:
		return nil, nil, err
	default:
		outs, err := deployed(ctx, st)
		if err != nil {
			return nil, nil, fmt.Errorf("read the outputs of %s: %w", stack, err)
		}
		names = append(names, Removed(outs, req.Sources)...)
	}
	sort.Strings(names)
	return slices.Compact(names), dels, nil
}

// requestRegion is the region of a request's config.
func requestRegion(raw map[string]string) string { return raw[stackconfig.RegionKey] }
