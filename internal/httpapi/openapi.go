package httpapi

import _ "embed"

// openAPIDoc is the repository's reference of the HTTP contract.
//
//go:embed openapi.json
var openAPIDoc []byte
