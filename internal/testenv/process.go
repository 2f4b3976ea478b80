package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startLimit is how long a program a test starts (nginx, oauth2-proxy) has
// to answer; startTries is how often it is started again on another port
// when another process took the free port first.
const (
	startLimit = 30 * time.Second
	startTries = 3
)

// PortPlaceholder stands for the free port that StartNginx and
// StartOAuth2Proxy choose, in nginx's config and oauth2-proxy's flags.
const PortPlaceholder = "{{PORT}}"

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: the
// kernel picks it for a listener that is closed again at once. Another
// process may take it before the caller binds it; StartNginx and
// StartOAuth2Proxy start again on another port when that happens.
func FreePort(t TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// failedLogger is the part of testing.TB that Cleanup uses to print a
// program's output when the test failed. TB does not ask for it; where t
// has it (*testing.T does), the output is printed.
type failedLogger interface {
	Failed() bool
	Logf(format string, args ...any)
}

// process is a program a test started, with the last of its output kept.
type process struct {
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
	err  error // how it ended, once done is closed

	stopOnce sync.Once
}

// startProcess starts cmd with its stdout and stderr kept, and (on Linux)
// killed should the test binary die before its Cleanup runs.
func startProcess(cmd *exec.Cmd) (*process, error) {
	p := &process{cmd: cmd, out: &tailBuffer{limit: 256 << 10}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait() // after the output was copied
		close(p.done)
	}()
	return p, nil
}

// stop ends the program with SIGTERM, and with SIGKILL when it is still
// running 10 s later. Stopping again does nothing.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// errExited says the program ended before it answered.
var errExited = errors.New("exited")

// waitReady calls ready every 20 ms until it is true, the program ends or
// startLimit passes.
func (p *process) waitReady(ready func() bool) error {
	deadline := time.Now().Add(startLimit)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%w (%v)", errExited, p.err)
		default:
		}
		if ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not answer within %v", startLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startOnFreePort starts the program that command makes for a free port and
// waits until ready says that it answers there, at the address it returns. When the program ended
// because another process took the port first, it starts again on another
// port. The program is stopped in Cleanup, after which its output is
// printed if the test failed.
func startOnFreePort(t TB, name string, command func(port int) *exec.Cmd, ready func(addr string) bool) string {
	t.Helper()
	return startOnPort(t, name, 0, command, ready)
}

// startOnPort is startOnFreePort on port when it is not 0 (no retry then:
// the caller chose the port and told others about it).
func startOnPort(t TB, name string, fixed int, command func(port int) *exec.Cmd, ready func(addr string) bool) string {
	t.Helper()
	for try := 1; ; try++ {
		port := fixed
		if port == 0 {
			port = FreePort(t)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p, err := startProcess(command(port))
		if err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
		err = p.waitReady(func() bool { return ready(addr) })
		if err == nil {
			t.Cleanup(func() {
				p.stop()
				if l, ok := t.(failedLogger); ok && l.Failed() {
					l.Logf("%s's output:\n%s", name, p.out.String())
				}
			})
			return addr
		}
		p.stop()
		if fixed == 0 && errors.Is(err, errExited) && try < startTries && lostPort(p.out.String(), addr) {
			continue
		}
		t.Fatalf("%s on %s %v; its output:\n%s", name, addr, err, p.out.String())
	}
}

// lostPort says whether output says that addr was in use: nginx's
// "bind() to 127.0.0.1:PORT failed (98: Address already in use)", Go's
// "listen tcp 127.0.0.1:PORT: bind: address already in use".
func lostPort(output, addr string) bool {
	for line := range strings.Lines(output) {
		if strings.Contains(line, addr) && strings.Contains(strings.ToLower(line), "address already in use") {
			return true
		}
	}
	return false
}

// tailBuffer is an io.Writer, safe to read while a program writes to it,
// that keeps the last limit bytes.
type tailBuffer struct {
	limit int

	mu sync.Mutex
	b  []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if over := len(b.b) - b.limit; over > 0 {
		b.b = append(b.b[:0], b.b[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// executable says why path is not an executable file, or nil.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
