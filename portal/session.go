package portal

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The pages' session cookie holds an opaque id of a server-side session,
// never the token. Over HTTPS it is hostSessionCookie: the __Host- prefix
// makes the browser take it only Secure, with Path=/ and no Domain, so
// neither a sibling subdomain nor a plain-HTTP answer can plant or
// overwrite it. Over plain HTTP (a developer's machine) it is
// sessionCookie.
const (
	sessionCookie     = "hookline_session"
	hostSessionCookie = "__Host-hookline_session"
)

// cookieName is the session cookie's name for r.
func (s *Server) cookieName(r *http.Request) string {
	if s.secureRequest(r) {
		return hostSessionCookie
	}
	return sessionCookie
}

// session is one signed-in browser. It keeps the token it signed in with,
// not that token's identity: each request reads the token's current entry
// in the token file, so a token demoted, moved to another team or revoked
// changes or ends its sessions at their next request.
type session struct {
	tokenHash string
	expires   time.Time
}

// sessions are the pages' signed-in browsers, in memory: a restart signs
// everyone out.
type sessions struct {
	mu  sync.Mutex
	all map[string]*session
}

func (ss *sessions) create(tokenHash string, ttl time.Duration) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	key := hex.EncodeToString(b)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for k, s := range ss.all { // sweep while here
		if now.After(s.expires) {
			delete(ss.all, k)
		}
	}
	ss.all[key] = &session{tokenHash: tokenHash, expires: now.Add(ttl)}
	return key
}

func (ss *sessions) get(key string) (*session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.all[key]
	if !ok || time.Now().After(s.expires) {
		delete(ss.all, key)
		return nil, false
	}
	return s, true
}

func (ss *sessions) end(key string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.all, key)
}

// tokenFile keeps the token file current: it is read again when its
// modification time or size changes (checked at most once a second), or on
// Reload (SIGHUP), so a revoked token stops working without a restart.
type tokenFile struct {
	path string

	mu      sync.Mutex
	tokens  *Tokens
	mod     time.Time
	size    int64
	checked time.Time
}

func (f *tokenFile) current() *Tokens {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path != "" && time.Since(f.checked) >= time.Second {
		f.reloadLocked(false)
	}
	return f.tokens
}

// Reload reads the token file now.
func (f *tokenFile) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloadLocked(true)
}

func (f *tokenFile) reloadLocked(force bool) error {
	f.checked = time.Now()
	if f.path == "" {
		return nil
	}
	st, err := os.Stat(f.path)
	if err != nil {
		return err
	}
	if !force && st.ModTime().Equal(f.mod) && st.Size() == f.size {
		return nil
	}
	t, err := LoadTokens(f.path)
	if err != nil {
		return err // keep the tokens in force; a broken edit must not open or close the portal
	}
	f.tokens, f.mod, f.size = t, st.ModTime(), st.Size()
	return nil
}

// identifyAPI reads the API's bearer token; the API never reads a cookie,
// nor the load balancer's x-amzn-oidc-data (which a browser's cookie for
// the load balancer brings along), so a cross-site request carrying a
// browser's sign-in cannot call it.
func (s *Server) identifyAPI(r *http.Request) (Principal, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Principal{}, false
	}
	token = strings.TrimSpace(token)
	id, ok := s.tokens.current().identify(token)
	if !ok {
		return Principal{}, false
	}
	return Principal{Subject: TokenSubject(HashToken(token)), Team: id.Team, Admin: id.Admin, Via: ViaToken}, true
}

// identifyPage reads the pages' session cookie: its identity is the
// current entry of the token it signed in with. A session ends when it
// expires, on sign-out, or when that token is revoked.
func (s *Server) identifyPage(r *http.Request) (Principal, bool) {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil {
		return Principal{}, false
	}
	sess, ok := s.sessions.get(c.Value)
	if !ok {
		return Principal{}, false
	}
	id, ok := s.tokens.current().byHash(sess.tokenHash)
	if !ok {
		s.sessions.end(c.Value)
		return Principal{}, false
	}
	return Principal{Subject: TokenSubject(sess.tokenHash), Team: id.Team, Admin: id.Admin, Via: ViaSession}, true
}

// secureRequest reports whether the browser reached the portal over TLS:
// this connection's own, or, with Options.TrustForwardedProto, a proxy's
// that says so. Without that option X-Forwarded-Proto is the client's word
// and decides nothing.
func (s *Server) secureRequest(r *http.Request) bool {
	return r.TLS != nil || s.opts.TrustForwardedProto && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// hstsMaxAge is how long a browser that reached the portal over HTTPS
// keeps to HTTPS (two years, as the HSTS preload list asks).
const hstsMaxAge = 2 * 365 * 24 * time.Hour

// securityHeaders: no framing, no inline or third-party script or style,
// no MIME sniffing, no referrer; HTTPS only from now on for a browser that
// came over HTTPS; and nothing kept in a cache but the static files, since
// every other answer is per user and may carry API keys, a token or a
// stack's details.
func (s *Server) securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if s.secureRequest(r) {
			w.Header().Set("Strict-Transport-Security", "max-age="+strconv.Itoa(int(hstsMaxAge/time.Second)))
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			w.Header().Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}
