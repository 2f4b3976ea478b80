package core

import (
	"fmt"
	"reflect"
	"strings"
)

// CheckDeps is the check of a constructor that takes its dependencies as a
// struct (deps): every exported field must be set, unless it is tagged
// `deps:"optional"`. A field is unset at its zero value: a nil interface,
// pointer, func, map, slice or channel, an interface holding a nil pointer,
// or a zero number, string, duration or struct. The error names each unset
// field, e.g. "account.New: missing Hasher, Clock"; nil when none is.
func CheckDeps(constructor string, deps any) error {
	v := reflect.ValueOf(deps)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("%s: dependencies must be a struct, not %T", constructor, deps)
	}
	var missing []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Tag.Get("deps") == "optional" {
			continue
		}
		if unset(v.Field(i)) {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing %s", constructor, strings.Join(missing, ", "))
	}
	return nil
}

func unset(v reflect.Value) bool {
	if v.Kind() == reflect.Interface && !v.IsNil() {
		e := v.Elem()
		return e.Kind() == reflect.Pointer && e.IsNil()
	}
	return v.IsZero()
}
