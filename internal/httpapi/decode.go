package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
)

// decodeJSON reads the request body into dst. Wrong content type, malformed
// JSON, trailing data and wrong types are 400 invalid_request, naming the
// field where there is one; unknown fields are ignored, as the contract says.
func decodeJSON(c *fiber.Ctx, dst any) error {
	mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType()))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return core.Errorf(core.EInvalidRequest, "Content-Type must be application/json")
	}
	return decodeBody(c.Body(), dst)
}

func decodeBody(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
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
		return core.Errorf(core.EInvalidRequest, "the request body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return core.Errorf(core.EInvalidRequest, "the request body has data after the JSON value")
	}
	return nil
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
