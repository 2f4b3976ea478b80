package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
)

// defaultListenAddr is where "listen" serves pushes when enroll named none.
const defaultListenAddr = "127.0.0.1:9300"

// queuedPushes bounds the logins waiting for the user; more are refused
// with a message rather than piling up.
const queuedPushes = 32

func (c *command) listen(args []string) error {
	fs := c.flags("listen [--addr ADDR] [--approve --number N | --deny [--report]] [--once]",
		"Waits for login requests, shows each one (IP, browser, time, expiry) and asks\n"+
			"whether to approve it, and for the number the browser shows. A device enrolled\n"+
			"with a push URL serves it on ADDR; one without holds the server's device\n"+
			"websocket (reconnecting as needed), or polls with --poll.\n\n"+
			"For scripts, --approve --number N or --deny answers every request unasked.")
	addr := fs.String("addr", "", "the `address` to serve pushes on (default: enroll's --listen, else "+defaultListenAddr+")")
	approve := fs.Bool("approve", false, "approve every request, with --number")
	number := fs.Int("number", 0, "the two-digit `number` to approve with")
	deny := fs.Bool("deny", false, "deny every request")
	report := fs.Bool("report", false, "with --deny: report every request as not yours")
	once := fs.Bool("once", false, "exit after answering one request")
	interval := fs.Duration("interval", 2*time.Second, "how often a device without a push URL polls (with --poll)")
	poll := fs.Bool("poll", false, "a device without a push URL polls instead of holding the websocket")
	if err := noArguments(fs, args); err != nil {
		return err
	}
	var auto *decision
	switch {
	case *approve && *deny:
		return usagef("--approve and --deny exclude each other")
	case *approve && !isMatchNumber(*number):
		return usagef("--approve needs --number N, the two-digit number shown in the browser")
	case !*approve && *number != 0:
		return usagef("--number goes with --approve")
	case *report && !*deny:
		return usagef("--report goes with --deny")
	case *interval <= 0:
		return usagef("--interval must be positive")
	case *approve:
		auto = &decision{approve: true, number: *number}
	case *deny:
		auto = &decision{report: *report}
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	l := &listener{command: c, client: c.client(st), auto: auto, once: *once, seen: map[string]time.Time{}}
	if st.PushURL == "" && *poll {
		return l.poll(*interval)
	}
	if st.PushURL == "" {
		return l.socket()
	}
	if *addr == "" {
		*addr = st.ListenAddr
	}
	if *addr == "" {
		*addr = defaultListenAddr
	}
	return l.serve(*addr)
}

// listener answers login requests one at a time, as they come.
type listener struct {
	*command
	client *authenticator.Client
	auto   *decision // nil: ask on stdin
	once   bool
	seen   map[string]time.Time // approval id → its expiry: each is answered once
}

// serve receives pushes at the path of the enrolled push URL on addr.
func (l *listener) serve(addr string) error {
	st := l.client.State
	pushPath := "/"
	if u, err := url.Parse(st.PushURL); err == nil && u.EscapedPath() != "" {
		pushPath = u.EscapedPath()
	}
	queue := make(chan authenticator.PushRequest, queuedPushes)
	receiver := authenticator.PushHandler(st, func(p authenticator.PushRequest) {
		select {
		case queue <- p:
		default:
			fmt.Fprintf(l.stderr, "Too many requests waiting; ignored %s.\n", clean(p.ApprovalID))
		}
	})
	receiver.KeyLearned = func() {
		l.saveLearned(st)
		// Tell the server at once (a signed pull names the pinned key),
		// not only with the next answer.
		go func() { _, _ = l.client.Pending(l.ctx) }()
	}
	receiver.Rejected = func(err error) {
		fmt.Fprintf(l.stderr, "%s %v\n", time.Now().Format("15:04:05"), err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.EscapedPath() != pushPath {
				http.NotFound(w, r)
				return
			}
			receiver.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for pushes: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	fmt.Fprintf(l.stdout, "Listening on %s for logins that %s pushes to %s. Ctrl-C stops.\n", ln.Addr(), st.Server, st.PushURL)
	for {
		select {
		case <-l.ctx.Done():
			return nil
		case err := <-served:
			return fmt.Errorf("serving pushes: %w", err)
		case p := <-queue:
			if done, err := l.handle(p); done {
				return err
			}
		}
	}
}

// poll asks the server for pending logins every interval (pull mode).
func (l *listener) poll(interval time.Duration) error {
	fmt.Fprintf(l.stdout, "This device has no push URL: asking %s for logins every %s. Ctrl-C stops.\n", l.client.State.Server, interval)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		list, err := l.client.Pending(l.ctx)
		switch {
		case l.ctx.Err() != nil:
			return nil
		case err != nil && isUnauthorized(err):
			return explain(err) // polling again will not help
		case err != nil:
			fmt.Fprintf(l.stderr, "%s %v\n", time.Now().Format("15:04:05"), err)
		}
		for _, p := range list {
			if done, err := l.handle(p); done {
				return err
			}
		}
		select {
		case <-l.ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// handle shows one request and answers it. done says listening ends: after
// the first answer with --once, or when the user can no longer answer.
func (l *listener) handle(p authenticator.PushRequest) (done bool, err error) {
	now := time.Now()
	if _, dup := l.seen[p.ApprovalID]; dup {
		return false, nil // a retried push, or still pending in the next poll
	}
	for id, expires := range l.seen {
		if now.After(expires) {
			delete(l.seen, id)
		}
	}
	l.seen[p.ApprovalID] = p.ExpiresAt

	show(l.stdout, p, now)
	if !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt) {
		fmt.Fprintln(l.stdout, "This request has expired; nothing to answer.")
		return l.once, nil
	}
	d, err := l.choose()
	if err != nil {
		if l.ctx.Err() != nil {
			return true, nil
		}
		return true, err
	}
	if err := l.decide(l.client, p.ApprovalID, *d); err != nil {
		if l.once {
			return true, err
		}
		fmt.Fprintln(l.stderr, "authenticator:", err)
	}
	return l.once, nil
}

// choose returns the automatic decision, or asks for one.
func (l *listener) choose() (*decision, error) {
	if l.auto != nil {
		return l.auto, nil
	}
	for {
		answer, err := l.ask("approve or deny? [a/d/r=not me] ")
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(answer) {
		case "a", "approve", "y", "yes":
			return l.askNumber()
		case "d", "deny", "n", "no":
			return &decision{}, nil
		case "r", "report", "not me":
			return &decision{report: true}, nil
		}
		fmt.Fprintln(l.stdout, "Type a to approve, d to deny, or r if this login was not you.")
	}
}

func (l *listener) askNumber() (*decision, error) {
	for {
		answer, err := l.ask("type the number shown in the browser: ")
		if err != nil {
			return nil, err
		}
		if n, err := strconv.Atoi(answer); err == nil && isMatchNumber(n) {
			return &decision{approve: true, number: n}, nil
		}
		fmt.Fprintln(l.stdout, "The browser shows a two-digit number, such as 42.")
	}
}

func isUnauthorized(err error) bool {
	var apiErr *authenticator.APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized
}

// Reconnection pauses of the device websocket: from socketMinPause,
// doubling up to socketMaxPause while the server cannot be reached.
const (
	socketMinPause = time.Second
	socketMaxPause = 30 * time.Second
)

// socket holds the device websocket: what is pending on each connect, then
// each new request at once. It reconnects with a growing pause, and every
// connect re-reads what is pending.
func (l *listener) socket() error {
	fmt.Fprintf(l.stdout, "This device has no push URL: listening to %s over its websocket. Ctrl-C stops.\n", l.client.State.Server)
	pause := socketMinPause
	for {
		connected, done, err := l.socketOnce()
		switch {
		case done || l.ctx.Err() != nil:
			return err
		case err != nil && isUnauthorized(err):
			return explain(err) // another try will not help
		case err != nil:
			fmt.Fprintf(l.stderr, "%s %v; reconnecting in %s\n", time.Now().Format("15:04:05"), err, pause)
		}
		if connected {
			pause = socketMinPause
		}
		select {
		case <-l.ctx.Done():
			return nil
		case <-time.After(pause):
		}
		if !connected {
			pause = min(pause*2, socketMaxPause)
		}
	}
}

// socketOnce holds one websocket until it ends; done says listening ends.
func (l *listener) socketOnce() (connected, done bool, err error) {
	sock, err := l.client.DialSocket(l.ctx)
	if err != nil {
		return false, false, err
	}
	defer sock.Close()
	// The socket's frames announce a rotated push key only with a login:
	// one pull on each connection learns (and, by its push_kid, confirms)
	// it at once. Its approvals come in the socket's pending frame anyway.
	if _, err := l.client.Pending(l.ctx); err != nil && l.ctx.Err() == nil {
		fmt.Fprintf(l.stderr, "%s %v\n", time.Now().Format("15:04:05"), err)
	}
	stop := context.AfterFunc(l.ctx, func() { _ = sock.Close() })
	defer stop()
	type item struct {
		ev  authenticator.SocketEvent
		err error
	}
	// Read on a goroutine of its own, so the server's pings are answered
	// while the user thinks.
	events := make(chan item, queuedPushes)
	go func() {
		for {
			ev, err := sock.Next(func(err error) {
				fmt.Fprintf(l.stderr, "%s %v\n", time.Now().Format("15:04:05"), err)
			})
			events <- item{ev, err}
			if err != nil {
				return
			}
		}
	}()
	for it := range events {
		switch {
		case errors.Is(it.err, authenticator.ErrDeviceRemoved):
			return true, true, errors.New("this device was removed from its account; enroll again")
		case it.err != nil:
			if l.ctx.Err() != nil {
				return true, true, nil
			}
			return true, false, it.err
		case it.ev.IsPending:
			for _, p := range it.ev.Pending {
				if done, err := l.handle(p); done {
					return true, true, err
				}
			}
		case it.ev.Push != nil:
			if done, err := l.handle(*it.ev.Push); done {
				return true, true, err
			}
		case it.ev.Changed != nil && it.ev.Changed.Status != "pending":
			fmt.Fprintf(l.stdout, "%s is now %s.\n", clean(it.ev.Changed.ApprovalID), clean(it.ev.Changed.Status))
		}
	}
	return true, false, nil
}
