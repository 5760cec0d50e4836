package avisim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Session timing (avi-rest.md §1.5): controllerproperties.api_idle_timeout (15 min),
// portal_configuration.api_force_timeout (24 h), cookie Max-Age.
const (
	idleTimeout     = 15 * time.Minute
	forceTimeout    = 24 * time.Hour
	sessionMaxAge   = 86400
	csrfMaxAge      = 31449600
	csrfMissingText = "CSRF token missing or incorrect."
)

type session struct {
	id, csrf string
	created  time.Time
	lastUsed time.Time
}

// lapsed reports whether the session expired: idle too long, or past the hard limit.
func (sess *session) lapsed(now time.Time) bool {
	return now.Sub(sess.lastUsed) > idleTimeout || now.Sub(sess.created) > forceTimeout
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// sessionCookies are the two session cookies, exactly as the controller sets them: no
// SameSite (avi-rest.md §1.2).
func sessionCookies(id string) []*http.Cookie {
	out := make([]*http.Cookie, 0, 2)
	for _, name := range []string{"avi-sessionid", "sessionid"} {
		ck := &http.Cookie{Name: name, Value: id, Path: "/", MaxAge: sessionMaxAge, HttpOnly: true, Secure: true} //nolint:gosec // G124: as the controller sets it
		out = append(out, ck)
	}
	return out
}

// credentials reads a login body: JSON or form-encoded, with password or token.
func credentials(r *http.Request, body []byte) (user, password, token string) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		q, _ := url.ParseQuery(string(body))
		return q.Get("username"), q.Get("password"), q.Get("token")
	}
	var in struct {
		Username, Password, Token string
	}
	_ = json.Unmarshal(body, &in)
	return in.Username, in.Password, in.Token
}

func (s *Server) validPassword(user, password string) bool {
	return subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.Username)) == 1 &&
		subtle.ConstantTimeCompare([]byte(password), []byte(s.opts.Password)) == 1
}

// login serves POST /login (avi-rest.md §1.2).
func (s *Server) login(c *call) *response {
	if resp := methodCheck(c, allowLogin); resp != nil {
		return resp
	}
	now := s.opts.Clock()
	user, password, token := credentials(c.r, c.body)
	ok := password != "" && s.validPassword(user, password)
	if !ok && token != "" && user == s.opts.Username {
		exp, found := s.tokens[token]
		ok = found && now.Before(exp)
	}
	if !ok {
		return (&apiError{status: http.StatusUnauthorized, msg: "Invalid credentials"}).response()
	}
	sess := &session{id: randomString(32, "0123456789abcdef"),
		csrf: randomString(32, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), created: now, lastUsed: now}
	s.sessions[sess.id] = sess
	s.logins++
	// csrftoken is not HttpOnly: clients read it to send X-CSRFToken.
	csrf := &http.Cookie{Name: "csrftoken", Value: sess.csrf, Path: "/", MaxAge: csrfMaxAge, Secure: true} //nolint:gosec // G124: as the controller sets it
	c.cooks = append([]*http.Cookie{csrf}, sessionCookies(sess.id)...)
	resp := jsonResponse(http.StatusOK, s.loginBody(c.host))
	resp.header.Set("Allow", allowLogin)
	return resp
}

// logout serves POST /logout: the session ends and its cookies are cleared (inferred).
func (s *Server) logout(c *call) *response {
	if resp := methodCheck(c, allowLogin); resp != nil {
		return resp
	}
	if sess := s.cookieSession(c.r); sess != nil {
		delete(s.sessions, sess.id)
	}
	for _, ck := range sessionCookies("") {
		ck.MaxAge = -1
		c.cooks = append(c.cooks, ck)
	}
	return jsonResponse(http.StatusOK, map[string]any{})
}

// cookieSession returns the session named by avi-sessionid, else sessionid, if it is known.
func (s *Server) cookieSession(r *http.Request) *session {
	for _, name := range []string{"avi-sessionid", "sessionid"} {
		if ck, err := r.Cookie(name); err == nil {
			if sess := s.sessions[ck.Value]; sess != nil {
				return sess
			}
		}
	}
	return nil
}

// authenticate admits a request under /api/ by session cookie (with CSRF on unsafe methods
// and a sliding cookie refresh) or by Basic auth when allowed (avi-rest.md §1.4-§1.6).
func (s *Server) authenticate(c *call) *apiError {
	now := s.opts.Clock()
	if sess := s.cookieSession(c.r); sess != nil {
		if sess.lapsed(now) {
			delete(s.sessions, sess.id)
			return notAuthenticated()
		}
		if s.answer419 {
			s.answer419 = false
			// inferred wording; clients key on the status
			return &apiError{status: 419, msg: "Session expired"}
		}
		unsafe := c.r.Method != http.MethodGet && c.r.Method != http.MethodHead && c.r.Method != http.MethodOptions
		if unsafe && subtle.ConstantTimeCompare([]byte(c.r.Header.Get("X-CSRFToken")), []byte(sess.csrf)) != 1 {
			// The session itself is good: its cookies are refreshed on this 401 too
			// (alb-sdk's recordings).
			sess.lastUsed = now
			c.cooks = append(c.cooks, sessionCookies(sess.id)...)
			return &apiError{status: http.StatusUnauthorized, msg: csrfMissingText, plain: true}
		}
		if unsafe && s.opts.RequireReferer && c.r.Header.Get("Referer") == "" {
			// inferred: Django's own wording for a missing Referer over HTTPS
			return &apiError{status: http.StatusUnauthorized, msg: "CSRF Failed: Referer checking failed - no Referer.", plain: true}
		}
		sess.lastUsed = now
		c.sess = sess
		c.cooks = append(c.cooks, sessionCookies(sess.id)...)
		return nil
	}
	if user, password, ok := c.r.BasicAuth(); ok && s.basicAuth {
		if !s.validPassword(user, password) {
			return &apiError{status: http.StatusUnauthorized, msg: "Invalid credentials"}
		}
		if s.answer419 {
			s.answer419 = false
			return &apiError{status: 419, msg: "Session expired"}
		}
		return nil
	}
	return notAuthenticated()
}

// notAuthenticated is the 401 for a missing, unknown or expired session (body inferred, §1.5).
func notAuthenticated() *apiError {
	return &apiError{status: http.StatusUnauthorized, msg: "Authentication credentials were not provided."}
}

// userToken serves /api/user-token: POST {"hours":"N"} mints a login token, GET lists them.
func (s *Server) userToken(c *call) *response {
	now := s.opts.Clock()
	if c.r.Method == http.MethodPost {
		var in struct {
			Hours json.RawMessage `json:"hours"`
		}
		_ = json.Unmarshal(c.body, &in)
		hours, err := strconv.ParseFloat(strings.Trim(string(in.Hours), `"`), 64)
		if len(in.Hours) == 0 {
			hours, err = 24, nil // inferred default
		}
		if err != nil || hours <= 0 {
			return badRequest("hours: a positive number is required").response()
		}
		tok := randomString(40, "0123456789abcdef")
		s.tokens[tok] = now.Add(time.Duration(hours * float64(time.Hour)))
		return jsonResponse(http.StatusOK, map[string]any{"token": tok})
	}
	results := []any{}
	for tok, exp := range s.tokens {
		if now.Before(exp) {
			results = append(results, map[string]any{"token": tok, "username": s.opts.Username,
				"expires_at": exp.UTC().Format(time.RFC3339)})
		}
	}
	sort.Slice(results, func(i, j int) bool {
		return results[i].(map[string]any)["token"].(string) < results[j].(map[string]any)["token"].(string)
	})
	return jsonResponse(http.StatusOK, map[string]any{"count": len(results), "results": results})
}
