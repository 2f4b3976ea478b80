package oidcprovider

import "net/http"

// tokenAnswers mends two answers of op where the standards are plain:
// the token endpoint's answer must not be cached (RFC 6749 §5.1), and a
// refused access token at userinfo is 401 with WWW-Authenticate
// (RFC 6750 §3.1; op answers 403).
func tokenAnswers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oidc/token":
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
		case "/oidc/userinfo":
			w = &userinfoWriter{ResponseWriter: w}
		}
		next.ServeHTTP(w, r)
	})
}

type userinfoWriter struct{ http.ResponseWriter }

func (w *userinfoWriter) WriteHeader(code int) {
	if code == http.StatusForbidden || code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		code = http.StatusUnauthorized
	}
	w.ResponseWriter.WriteHeader(code)
}
