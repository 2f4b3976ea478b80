package oidcprovider

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// honestDiscovery narrows op's discovery document to what this provider
// does: the code flow with refresh tokens. op lists every grant and
// response type it can do (implicit, device, JWT bearer) whatever the
// clients may use; an application reading the document must not believe
// those are offered.
func honestDiscovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != DiscoveryPath {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var doc map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
			copyResponse(w, rec)
			return
		}
		doc["response_types_supported"] = []string{"code"}
		doc["response_modes_supported"] = []string{"query"}
		doc["grant_types_supported"] = []string{"authorization_code", "refresh_token"}
		doc["acr_values_supported"] = []string{ACRTwoFactor, ACRPassword, ACRPasswordless}
		delete(doc, "device_authorization_endpoint")
		delete(doc, "request_object_signing_alg_values_supported")
		body, err := json.Marshal(doc)
		if err != nil {
			copyResponse(w, rec)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = bytes.NewReader(rec.Body.Bytes()).WriteTo(w)
}
