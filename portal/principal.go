package portal

import "context"

// Principal is who a signed-in request comes from: the pages and the API
// put it on the request's context (PrincipalFrom) before a handler runs,
// so whatever records "who" (an audit log) reads it there. It never holds
// a secret: a token is named by a prefix of its hash.
type Principal struct {
	// Subject names the person or caller: the IdP's subject (sub) when
	// signed in at the load balancer (Via ViaALB); else TokenSubject of
	// the bearer token or of the token the session signed in with.
	Subject string
	// Email is the IdP's email claim (ViaALB only; "" when it has none).
	Email string
	// Team is the team the request acts for; "" for an admin.
	Team string
	// Admin may see and change every team's stacks.
	Admin bool
	// Via is how the request was signed in: ViaALB, ViaToken or ViaSession.
	Via string
}

// How a request was signed in.
const (
	// ViaALB: the pages, signed in at the load balancer (x-amzn-oidc-data).
	ViaALB = "alb"
	// ViaToken: the API, with a bearer token.
	ViaToken = "token"
	// ViaSession: the pages, with a session from a token sign-in.
	ViaSession = "session"
)

// TokenSubject is a token's Subject: "token:" and the first 12 hex digits
// of its hash in the token file (HashToken), enough to find its entry,
// nothing to sign in with.
func TokenSubject(hash string) string {
	if len(hash) < 7+12 {
		return "token:?"
	}
	return "token:" + hash[7:7+12]
}

// identity is what p may do.
func (p Principal) identity() Identity { return Identity{Team: p.Team, Admin: p.Admin} }

type principalKey struct{}

// WithPrincipal is ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom is the Principal ctx carries, if any: every request that
// reached a page's or the API's handler carries one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
