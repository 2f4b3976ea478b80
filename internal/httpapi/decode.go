package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
)

// decodeJSON reads the request body into dst. Wrong content type, malformed
// JSON, trailing data, wrong types, unknown fields, and strings holding NUL
// or invalid UTF-8 are 400 invalid_request, naming the field where there
// is one.
func decodeJSON(c *fiber.Ctx, dst any) error {
	mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType()))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return core.Errorf(core.EInvalidRequest, "Content-Type must be application/json")
	}
	return decodeBody(c.Body(), dst)
}

func decodeBody(body []byte, dst any) error {
	if err := checkFields(body, fieldNames(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	// A field the server does not know is a client's mistake (a typo, or
	// a feature this server lacks): ignoring it would answer success to a
	// request that did not do what it asked.
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return core.Errorf(core.EInvalidRequest, "the request body must be a JSON object")
			}
			return core.FieldError(core.EInvalidRequest, te.Field, te.Field+" must be a "+jsonKind(te.Type.Kind().String()))
		}
		if errors.Is(err, io.EOF) {
			return core.Errorf(core.EInvalidRequest, "the request body is empty")
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			// checkFields names unknown fields of the top level; this is
			// one in a nested object.
			return core.Errorf(core.EInvalidRequest, "unknown field %s", name)
		}
		return core.Errorf(core.EInvalidRequest, "the request body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return core.Errorf(core.EInvalidRequest, "the request body has data after the JSON value")
	}
	return nil
}

// maxNameInMessage bounds how much of a client's field name an error
// repeats.
const maxNameInMessage = 64

// checkFields walks the body's tokens and refuses a top-level field that
// known does not name (nil: any), and any string, name or value, holding
// NUL or invalid UTF-8. The decoder would pass NUL through (PostgreSQL
// refuses it in text: a 503 for a client's mistake) and silently replace
// invalid UTF-8 with U+FFFD (storing something else than was sent), so
// both are looked for here, in the raw bytes of each token. A body that is
// not well-formed JSON is left to the decoder to refuse.
func checkFields(body []byte, known []string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type container struct{ object, wantKey bool }
	var stack []container
	field := "" // the top-level field whose value is being read
	start := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		end := dec.InputOffset()
		raw := body[start:end] // the token, after separators and spaces (all ASCII)
		start = end

		s, isString := tok.(string)
		isKey := isString && len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
		if isString {
			bad := ""
			switch {
			case !utf8.Valid(raw):
				bad = "must be valid UTF-8"
			case strings.IndexByte(s, 0) >= 0:
				bad = "must not contain NUL characters"
			}
			switch {
			case bad != "" && isKey:
				return core.Errorf(core.EInvalidRequest, "field names %s", bad)
			case bad != "" && field != "":
				return core.FieldError(core.EInvalidRequest, field, field+" "+bad)
			case bad != "":
				return core.Errorf(core.EInvalidRequest, "the request body %s", bad)
			}
		}
		if isKey {
			stack[len(stack)-1].wantKey = false
			if len(stack) == 1 {
				field = s
				if known != nil && !knownField(known, field) {
					return core.FieldError(core.EInvalidRequest, clip(field), fmt.Sprintf("unknown field %q", clip(field)))
				}
			}
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, container{object: true, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, container{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value (or a container) is complete: its object wants a key.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// knownField matches as encoding/json does: a name equal to a field's
// under case folding is that field.
func knownField(known []string, name string) bool {
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if len(s) <= maxNameInMessage {
		return s
	}
	return strings.ToValidUTF8(s[:maxNameInMessage], "") + "…"
}

// fieldNames lists the JSON names of the struct dst points to, or nil when
// dst is not a pointer to a struct (any field is then left to the decoder).
func fieldNames(dst any) []string {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	t = t.Elem()
	names := []string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil // embedded fields: their names are the decoder's to resolve
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "float64":
		return "number"
	default:
		return "valid value"
	}
}
