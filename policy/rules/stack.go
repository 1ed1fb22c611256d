package rules

import (
	"fmt"
	"slices"
	"strings"
)

// index finds resources by the identifiers other resources refer to them with.
type index struct {
	byURN map[string]*Resource
	all   []Resource
}

func newIndex(rs []Resource) index {
	ix := index{byURN: map[string]*Resource{}, all: rs}
	for i := range rs {
		ix.byURN[rs[i].URN] = &rs[i]
	}
	return ix
}

// resolve finds the resource of type typ that r's property prop refers to:
// by value (an ARN, URL, name or id) when it is known, else through the
// property's dependencies (preview). nil when it cannot be known.
func (ix index) resolve(r Resource, prop, typ string, keys ...string) *Resource {
	if v, st := r.str(prop); st == present {
		for i := range ix.all {
			c := &ix.all[i]
			if c.Type != typ {
				continue
			}
			for _, k := range keys {
				if s, st := c.str(k); st == present && s != "" && (s == v || strings.HasSuffix(v, ":"+s)) {
					return c
				}
			}
		}
		return nil
	}
	for _, u := range r.PropertyDependencies[prop] {
		if c, ok := ix.byURN[u]; ok && c.Type == typ {
			return c
		}
	}
	return nil
}

func dlqRequired(rs []Resource, _ Config) []Finding {
	ix := newIndex(rs)
	targets := map[string]*Resource{} // source URN → DLQ
	isDLQ := map[string]bool{}
	for _, q := range rs {
		if q.Type != TypeQueue {
			continue
		}
		if doc, st := q.jsonDoc("redrivePolicy"); st == present {
			if arn, ok := doc["deadLetterTargetArn"].(string); ok {
				probe := Resource{Props: map[string]any{"target": arn}}
				if d := ix.resolve(probe, "target", TypeQueue, "arn", "name"); d != nil {
					targets[q.URN], isDLQ[d.URN] = d, true
				}
			}
		} else if st == unknown {
			if d := ix.resolve(q, "redrivePolicy", TypeQueue); d != nil {
				targets[q.URN], isDLQ[d.URN] = d, true
			}
		}
	}
	var out []Finding
	for _, q := range rs {
		if q.Type != TypeQueue || isDLQ[q.URN] {
			continue
		}
		_, st := q.get("redrivePolicy")
		if st == absent {
			out = append(out, Finding{q.URN, fmt.Sprintf("queue %s has no dead-letter queue: a poison message would block its group until it expires; create a FIFO DLQ with 14 days retention and set redrivePolicy {deadLetterTargetArn, maxReceiveCount}", q.Name)})
			continue
		}
		d := targets[q.URN]
		if d == nil {
			continue // unknown yet, or a DLQ outside this stack
		}
		srcFIFO, st1 := q.boolean("fifoQueue")
		dlqFIFO, st2 := d.boolean("fifoQueue")
		if st1 == present && srcFIFO && st2 != unknown && !dlqFIFO {
			out = append(out, Finding{q.URN, fmt.Sprintf("queue %s is FIFO but its DLQ %s is a standard queue: a FIFO queue's DLQ must be FIFO (fifoQueue: true)", q.Name, d.Name)})
		}
		srcRet, st1 := numberOr(&q, "messageRetentionSeconds", 345600)
		dlqRet, st2 := numberOr(d, "messageRetentionSeconds", 345600)
		if st1 != unknown && st2 != unknown && dlqRet < srcRet {
			out = append(out, Finding{q.URN, fmt.Sprintf("DLQ %s keeps messages %.0f s, less than its source %s (%.0f s): dead letters would expire first; set the DLQ's messageRetentionSeconds to 1209600", d.Name, dlqRet, q.Name, srcRet)})
		}
	}
	return out
}

func numberOr(r *Resource, prop string, def float64) (float64, state) {
	n, st := r.number(prop)
	if st == absent {
		return def, present
	}
	return n, st
}

// consumer finds the queue an event source mapping reads and the function it
// invokes (nil where it cannot be known).
func (ix index) consumer(m Resource) (q, fn *Resource) {
	return ix.resolve(m, "eventSourceArn", TypeQueue, "arn"), ix.resolve(m, "functionName", TypeFunction, "arn", "name")
}

func visibilityTimeout(rs []Resource, _ Config) []Finding {
	ix := newIndex(rs)
	var out []Finding
	for _, m := range rs {
		if m.Type != TypeMapping {
			continue
		}
		q, fn := ix.consumer(m)
		if q == nil || fn == nil {
			continue
		}
		vt, st1 := numberOr(q, "visibilityTimeoutSeconds", 30)
		ft, st2 := numberOr(fn, "timeout", 3)
		if st1 == unknown || st2 == unknown {
			continue
		}
		if vt < 6*ft {
			out = append(out, Finding{q.URN, fmt.Sprintf("queue %s has a %.0f s visibility timeout but its consumer %s may run %.0f s: set visibilityTimeoutSeconds to at least %.0f (6 x the function timeout), or a message is delivered twice while still being processed", q.Name, vt, fn.Name, ft, 6*ft)})
		}
	}
	return out
}

func tlsCoverage(rs []Resource, _ Config) []Finding {
	ix := newIndex(rs)
	covered := map[string]bool{}
	for _, p := range rs {
		if p.Type != TypeQueuePolicy {
			continue
		}
		if doc, st := p.jsonDoc("policy"); st == present && !deniesInsecure(doc) {
			continue // tls-only reports it
		}
		if q := ix.resolve(p, "queueUrl", TypeQueue, "url", "id"); q != nil {
			covered[q.URN] = true
		} else if _, st := p.str("queueUrl"); st != present {
			// preview without dependencies: cannot tell which queue
			for _, u := range p.PropertyDependencies["queueUrl"] {
				covered[u] = true
			}
		}
	}
	unresolved := false
	for _, p := range rs {
		if p.Type == TypeQueuePolicy {
			if _, st := p.str("queueUrl"); st == unknown && len(p.PropertyDependencies["queueUrl"]) == 0 {
				unresolved = true
			}
		}
	}
	var out []Finding
	for _, q := range rs {
		if q.Type != TypeQueue || covered[q.URN] {
			continue
		}
		if _, st := q.get("policy"); st != absent {
			continue // inline policy: tls-only checks it
		}
		if unresolved {
			continue // a policy may cover it; we cannot know yet
		}
		out = append(out, Finding{q.URN, fmt.Sprintf("queue %s has no policy denying non-TLS access: add an aws.sqs.QueuePolicy that denies sqs:* when aws:SecureTransport is false", q.Name)})
	}

	hasDomain := slices.ContainsFunc(rs, func(r Resource) bool { return r.Type == TypeDomainName || r.Type == TypeDomainNameV2 })
	if hasDomain {
		for _, a := range rs {
			kind := map[string]string{TypeRestAPI: "REST API", TypeHTTPAPI: "HTTP API"}[a.Type]
			if kind == "" {
				continue
			}
			if off, st := a.boolean("disableExecuteApiEndpoint"); st == unknown || off {
				continue
			}
			out = append(out, Finding{a.URN, fmt.Sprintf("%s %s is behind a custom domain but keeps its default execute-api endpoint, which bypasses the domain's TLS policy: set disableExecuteApiEndpoint: true", kind, a.Name)})
		}
	}
	return out
}

// stageThrottling: every stage has a rate and burst limit for all its
// routes. An HTTP API stage says so in defaultRouteSettings; a REST stage in
// the method settings for "*/*" of its stage name.
func stageThrottling(rs []Resource, _ Config) []Finding {
	throttled := func(r Resource, path ...string) (bool, state) {
		rate, st := r.number(append(path, "throttlingRateLimit")...)
		if st == unknown {
			return false, unknown
		}
		_, bst := r.number(append(path, "throttlingBurstLimit")...)
		if bst == unknown {
			return false, unknown
		}
		return st == present && rate > 0 && bst == present, present
	}
	var out []Finding
	for _, r := range rs {
		switch r.Type {
		case TypeStageV2:
			if ok, st := throttled(r, "defaultRouteSettings"); st == present && !ok {
				out = append(out, Finding{r.URN, fmt.Sprintf("HTTP API stage %s has no throttle: set defaultRouteSettings.throttlingRateLimit and throttlingBurstLimit, so one sender cannot spend the account's API Gateway quota (hookline:throttle)", r.Name)})
			}
		case TypeStage:
			name, st := r.str("stageName")
			if st == unknown {
				continue
			}
			found, unsure := false, false
			for _, m := range rs {
				if m.Type != TypeMethodSettings {
					continue
				}
				if p, pst := m.str("methodPath"); pst != present || p != "*/*" {
					unsure = unsure || pst == unknown
					continue
				}
				sn, sst := m.str("stageName")
				if sst == unknown {
					unsure = true
					continue
				}
				if sn != name {
					continue
				}
				ok, tst := throttled(m, "settings")
				found = found || ok
				unsure = unsure || tst == unknown
			}
			if !found && !unsure {
				out = append(out, Finding{r.URN, fmt.Sprintf("REST stage %s has no throttle: add method settings for \"*/*\" with throttlingRateLimit and throttlingBurstLimit (hookline:throttle)", r.Name)})
			}
		}
	}
	return out
}

// throttleBound: no stage or route throttle exceeds the configured maximum.
// API Gateway's default throttle is the account's whole regional quota,
// shared by every API of the account, so a stage allowed all of it lets one
// team's open route starve every other endpoint. It reads an HTTP API
// stage's defaultRouteSettings and each of its routeSettings, and a REST
// API's method settings (any method path: a method-level throttle above the
// bound spends the quota as well as the stage's "*/*"). An unknown value is
// left to could-not-judge.
func throttleBound(r Resource, c Config) []string {
	c = c.WithDefaults()
	check := func(where string, s Resource, path ...string) []string {
		var out []string
		for _, l := range []struct {
			prop, what string
			max        float64
		}{
			{"throttlingRateLimit", "rate", c.MaxThrottleRate},
			{"throttlingBurstLimit", "burst", c.MaxThrottleBurst},
		} {
			v, st := s.number(append(path, l.prop)...)
			if st != present || v <= l.max {
				continue
			}
			out = append(out, fmt.Sprintf("%s %s has a throttle %s of %g, above the maximum %g (API Gateway's account quota per region is 10,000 requests/s, burst 5,000, shared by every API in the account): lower %s to at most %g (stack config hookline:throttle or the source's throttle), or raise throttle-bound's %s in the policy config if the account's quota was raised for this API",
				where, r.Name, l.what, v, l.max, l.prop, l.max, map[string]string{"rate": "maxThrottleRate", "burst": "maxThrottleBurst"}[l.what]))
		}
		return out
	}
	switch r.Type {
	case TypeStageV2:
		out := check("HTTP API stage", r, "defaultRouteSettings")
		v, st := r.get("routeSettings")
		if st != present {
			return out
		}
		list, ok := v.([]any)
		if !ok {
			return out
		}
		for _, e := range list {
			m, ok := unwrap(e).(map[string]any)
			if !ok {
				continue // unknown: could-not-judge names it
			}
			route := Resource{Name: r.Name, Props: m}
			key, kst := route.str("routeKey")
			where := "HTTP API stage (route settings)"
			if kst == present {
				where = fmt.Sprintf("HTTP API route %q of stage", key)
			}
			out = append(out, check(where, route)...)
		}
		return out
	case TypeMethodSettings:
		return check("REST method settings", r, "settings")
	}
	return nil
}
