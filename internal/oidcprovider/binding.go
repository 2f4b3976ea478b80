package oidcprovider

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net/http"

	"github.com/approvald/approvald/internal/core"
)

// An authorization request is completed only in the browser that made it.
// /oidc/login completes a request from whatever single sign-on cookie comes
// with it, and a request's id is no secret from the one who started it:
// without this, a page could start a request at an application itself,
// send a signed-in victim's browser to /oidc/login?id=… and stop it there
// (a redirect chain longer than the browser follows), then fetch the code
// with its own browser and be signed in to the application as the victim.
// So /oidc/authorize gives the browser a binding cookie, the request keeps
// its hash, and /oidc/login wants the same cookie.

// bindingCookie is the cookie that ties authorization requests to a
// browser: __Host- over https, so a sibling host cannot set it.
type bindingCookie struct {
	name   string
	secure bool
}

func bindingCookieFor(https bool) bindingCookie {
	if https {
		return bindingCookie{name: "__Host-approvald_oidc", secure: true}
	}
	return bindingCookie{name: "approvald_oidc"}
}

type browserKey struct{}

// browserOf is the binding hash bindBrowser put in ctx ("" without one).
func browserOf(ctx context.Context) string {
	h, _ := ctx.Value(browserKey{}).(string)
	return h
}

func bindingHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// bindBrowser gives a browser asking /oidc/authorize its binding cookie
// (keeping one it has) and hands the cookie's hash to CreateAuthRequest.
func (p *Provider) bindBrowser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != AuthorizePath {
			next.ServeHTTP(w, r)
			return
		}
		value := ""
		if c, err := r.Cookie(p.binding.name); err == nil && len(c.Value) >= 22 && len(c.Value) <= 64 {
			value = c.Value
		} else {
			value = core.NewSecret(16)
			// SameSite=Lax: the browser comes from the application, another
			// site, and keeps the cookie; HttpOnly, and gone with the
			// browser's session.
			http.SetCookie(w, &http.Cookie{
				Name: p.binding.name, Value: value, Path: "/", HttpOnly: true,
				Secure: p.binding.secure, SameSite: http.SameSiteLaxMode,
			})
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), browserKey{}, bindingHash(value))))
	})
}

// sameBrowser says whether r comes from the browser that made req.
func (p *Provider) sameBrowser(r *http.Request, req *authRequest) bool {
	c, err := r.Cookie(p.binding.name)
	if err != nil || req.Browser == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(bindingHash(c.Value)), []byte(req.Browser)) == 1
}

var otherBrowserTemplate = template.Must(template.New("other").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Sign-in not started here</title>
<p>This sign-in request was not started in this browser. Go back to the application and sign in from here.</p></html>`))

func otherBrowserPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = otherBrowserTemplate.Execute(w, nil)
}
