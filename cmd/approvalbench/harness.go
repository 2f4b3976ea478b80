package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// benchTB lets the bench use internal/e2e, which reports failures the way
// a test does (e2e.TB), without the testing package: a failure (Fatalf,
// Skipf) panics with a tbFailure that attempt turns back into an error,
// Errorf's are kept for close, and Cleanup's functions run at close, the
// last first.
type benchTB struct {
	say func(format string, args ...any)

	mu       sync.Mutex
	cleanups []func()
	errs     []error
}

type tbFailure struct{ err error }

func (b *benchTB) Helper() {}

func (b *benchTB) Fatalf(format string, args ...any) {
	err := fmt.Errorf(format, args...)
	b.mu.Lock()
	b.errs = append(b.errs, err)
	b.mu.Unlock()
	panic(tbFailure{err})
}

func (b *benchTB) Skipf(format string, args ...any) { b.Fatalf(format, args...) }

func (b *benchTB) Errorf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, fmt.Errorf(format, args...))
}

func (b *benchTB) Logf(format string, args ...any) { b.say(format, args...) }

func (b *benchTB) Failed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.errs) > 0
}

func (b *benchTB) Cleanup(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, f)
}

func (b *benchTB) TempDir() string {
	dir, err := os.MkdirTemp("", "approvalbench-")
	if err != nil {
		b.Fatalf("%v", err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// attempt runs f and returns the failure it reported, if any.
func (b *benchTB) attempt(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			failure, ok := r.(tbFailure)
			if !ok {
				panic(r)
			}
			err = failure.err
		}
	}()
	f()
	return nil
}

// close runs the cleanups, the last first, and returns what Errorf
// reported meanwhile (failures attempt returned are not repeated).
func (b *benchTB) close() error {
	b.mu.Lock()
	fs := b.cleanups
	b.cleanups = nil
	before := len(b.errs)
	b.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		_ = b.attempt(fs[i])
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return errors.Join(b.errs[before:]...)
}
