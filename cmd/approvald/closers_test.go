package main

import (
	"slices"
	"testing"
)

func TestClosersCloseInReverseOnce(t *testing.T) {
	var order []int
	var c closers
	for i := range 3 {
		c.add(func() { order = append(order, i) })
	}
	c.closeAll()
	c.closeAll()
	if !slices.Equal(order, []int{2, 1, 0}) {
		t.Fatalf("closed in order %v; want [2 1 0], once", order)
	}
}
