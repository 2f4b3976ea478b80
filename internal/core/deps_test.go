package core_test

import (
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

type nilClock struct{}

func (*nilClock) Now() time.Time { return time.Time{} }

func TestCheckDepsNamesEachUnsetField(t *testing.T) {
	type deps struct {
		Clock    core.Clock
		Log      func(string)
		TTL      time.Duration
		Optional *int `deps:"optional"`
		Set      string
	}
	var typedNil *nilClock
	err := core.CheckDeps("thing.New", deps{Clock: typedNil, Set: "x"})
	if err == nil || err.Error() != "thing.New: missing Clock, Log, TTL" {
		t.Fatalf("error %v; want the unset fields named", err)
	}
	if err := core.CheckDeps("thing.New", &deps{Clock: core.SystemClock{}, Log: func(string) {}, TTL: time.Second, Set: "x"}); err != nil {
		t.Fatalf("every field set: %v", err)
	}
	if err := core.CheckDeps("thing.New", 3); err == nil {
		t.Fatal("a non-struct was accepted")
	}
}
