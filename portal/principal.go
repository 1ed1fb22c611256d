package portal

import "context"

// Principal is who a request comes from, as the portal identified it:
// Subject (an SSO subject, or "token:<id>" for a bearer token or a session
// signed in with one: TokenID), the Team it acts for (none for an admin),
// whether it is an Admin, and Via, how it was identified ("bearer",
// "session", or the name of a sign-in at the edge such as "oidc").
//
// The portal's authentication puts it on the request's context
// (WithPrincipal) before a handler runs; what acts on the request reads it
// there (PrincipalFrom): the audit log records Subject and Via, never a
// token. Another way of signing in (the ALB's OIDC) identifies a request by
// setting its Principal the same way.
type Principal struct {
	Subject string
	Team    string
	Admin   bool
	Via     string
}

// identity is what the handlers check: the team, or an admin.
func (p Principal) identity() Identity { return Identity{Team: p.Team, Admin: p.Admin} }

type principalKey struct{}

// WithPrincipal is ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom is the Principal ctx carries (false when none).
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// TokenID names a token by the hash the token file keeps of it
// (HashToken's "sha256:<64 hex>"): "token:" and its first 12 hex digits,
// enough to find its line in the token file and nothing to sign in with.
func TokenID(hash string) string {
	const prefix = "sha256:"
	if len(hash) < len(prefix)+12 {
		return "token:?"
	}
	return "token:" + hash[len(prefix):len(prefix)+12]
}
