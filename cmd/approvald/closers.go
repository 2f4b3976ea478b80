package main

// closers is a stack of what build opened or started: each step adds what
// undoes it, and closeAll undoes them all, the last added first.
type closers []func()

func (c *closers) add(close func()) { *c = append(*c, close) }

// closeAll runs every closer once, in reverse order; a second call does
// nothing.
func (c *closers) closeAll() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
	*c = nil
}
