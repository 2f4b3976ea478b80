package oidcprovider

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/sso"
)

// handleLogin is where the authorization endpoint sends the browser: with a
// single sign-on session that satisfies the request (prompt, max_age, the
// id_token_hint's user) the request is completed and the browser goes on to
// the callback, which redirects to the application with the code; with
// prompt=none and none, the application hears login_required; otherwise the
// browser goes to the login page, which comes back here after the approval.
func (p *Provider) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	req, err := p.requests.byID(ctx, id)
	if errors.Is(err, errUnknownRequest) {
		expiredPage(w)
		return
	}
	if err != nil {
		p.log.Error("authorization request not read", "err", err)
		http.Error(w, "The server could not read the sign-in request; try again.", http.StatusServiceUnavailable)
		return
	}
	if !p.sameBrowser(r, req) {
		otherBrowserPage(w)
		return
	}
	if req.Done() {
		p.toCallback(w, r, id)
		return
	}
	sess := p.browserSession(r)
	if sess != nil && p.satisfies(req, sess) {
		login := &completedLogin{UserID: sess.UserID, AMR: sess.AMR, AuthTime: sess.AuthTime, SessionID: sess.ID}
		if err := p.requests.complete(ctx, id, login); err != nil {
			p.log.Error("authorization request not completed", "err", err)
			http.Error(w, "The server could not complete the sign-in; try again.", http.StatusServiceUnavailable)
			return
		}
		p.toCallback(w, r, id)
		return
	}
	if req.promptNone() {
		op.AuthRequestError(w, r, req, oidc.ErrLoginRequired(), p.op)
		return
	}
	http.Redirect(w, r, p.page+"?"+url.Values{"oidc": {id}}.Encode(), http.StatusFound)
}

func (p *Provider) toCallback(w http.ResponseWriter, r *http.Request, id string) {
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), id), http.StatusFound)
}

// satisfies says whether session s may complete req without a new login:
// the same user as an id_token_hint names, and a login recent enough for
// max_age; prompt=login (max_age=0) wants one made after the request.
func (p *Provider) satisfies(req *authRequest, s *core.Session) bool {
	if req.HintSubject != "" && req.HintSubject != s.UserID {
		return false
	}
	if req.forcesLogin() {
		// The database keeps microseconds (store.ts): compare at that
		// precision, never coarser, or a login made in the same second
		// before the request would count as fresh.
		return !s.AuthTime.Before(req.CreatedAt.Truncate(time.Microsecond))
	}
	if req.MaxAge != nil {
		return !s.AuthTime.Before(p.clock.Now().Add(-time.Duration(*req.MaxAge) * time.Second))
	}
	return true
}

// browserSession is the active single sign-on session of the request's
// cookie, or nil.
func (p *Provider) browserSession(r *http.Request) *core.Session {
	c, err := r.Cookie(sso.CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	s, err := p.sso.Session(r.Context(), c.Value)
	if err != nil {
		if !core.IsCode(err, core.EUnauthorized) {
			p.log.Warn("single sign-on session not read", "err", err)
		}
		return nil
	}
	return s
}

var expiredTemplate = template.Must(template.New("expired").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Sign-in expired</title>
<p>This sign-in request is unknown or has expired. Go back to the application and sign in again.</p></html>`))

func expiredPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = expiredTemplate.Execute(w, nil)
}

// ending carries the browser's single sign-on session into an end-session
// request, and out whether it was ended (to clear the cookie).
type ending struct {
	sessionID string
	userID    string // the single sign-on session's user
	ended     bool
}

type endingKey struct{}

// withBrowserSession lets RP-initiated logout end the browser's single
// sign-on session as well as the application's, and clear its cookie.
func (p *Provider) withBrowserSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oidc/end_session" {
			next.ServeHTTP(w, r)
			return
		}
		e := &ending{}
		if s := p.browserSession(r); s != nil {
			e.sessionID, e.userID = s.ID, s.UserID
		}
		cw := &clearingWriter{ResponseWriter: w, e: e, clear: p.sso.Clear()}
		next.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), endingKey{}, e)))
	})
}

type clearingWriter struct {
	http.ResponseWriter
	e     *ending
	clear *http.Cookie
}

func (w *clearingWriter) WriteHeader(code int) {
	if w.e.ended {
		http.SetCookie(w.ResponseWriter, w.clear)
	}
	w.ResponseWriter.WriteHeader(code)
}

// endingStorage is the storage that ends the single sign-on session too.
type endingStorage struct{ *storage }

// TerminateSessionFromRequest ends the application's sessions of the user
// and the browser's single sign-on session, then sends the browser where
// the (checked) post_logout_redirect_uri says.
func (s *endingStorage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if err := s.TerminateSession(ctx, req.UserID, req.ClientID); err != nil {
		return "", err
	}
	// An id_token_hint of another user (this browser's sign-on is someone
	// else's by now) ends that user's sessions with the application, not
	// the sign-on of whoever is signed in here.
	if e, ok := ctx.Value(endingKey{}).(*ending); ok && e.sessionID != "" && (req.UserID == "" || req.UserID == e.userID) {
		if err := s.tokens.RevokeSession(ctx, e.sessionID); err != nil && !core.IsCode(err, core.ENotFound) {
			return "", err
		}
		e.ended = true
	}
	return req.RedirectURI, nil
}
