//go:build !linux

package httpapi

import (
	"errors"
	"net"
)

// wsPoller is epoll's (wspoll_linux.go); elsewhere every websocket reads
// with a goroutine of its own.
type wsPoller struct{}

type wsReadable struct{}

var errWouldBlock = errors.New("nothing to read")

func theWSPoller() *wsPoller { return nil }

func (*wsPoller) watch(net.Conn, func()) (*wsReadable, bool) { return nil, false }
func (*wsReadable) rearm() error                             { return nil }
func (*wsReadable) stop()                                    {}
func (*wsReadable) read([]byte) (int, error)                 { return 0, errWouldBlock }
