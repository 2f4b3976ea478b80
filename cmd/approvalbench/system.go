package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// raiseFileLimit lifts RLIMIT_NOFILE to at least need, and where root may
// raise the hard limit, to four times need: an overloaded phase (polling
// that falls behind, callbacks piling up) opens connections beyond the
// plan, and approvald, which inherits the hard limit and raises its own
// soft limit to it, stops serving when accept runs out of descriptors.
// It returns the soft limit.
func raiseFileLimit(need uint64) (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	want := l
	want.Max = max(l.Max, min(4*need, nrOpen()))
	want.Cur = want.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// Not root: the soft limit can still go up to the hard one.
		want = syscall.Rlimit{Cur: l.Max, Max: l.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return l.Cur, err
		}
	}
	if want.Cur < need {
		return want.Cur, fmt.Errorf("the file-descriptor limit is %d, the run needs %d: raise the hard limit (ulimit -Hn) or run as root", want.Cur, need)
	}
	return want.Cur, nil
}

// nrOpen is the kernel's ceiling for RLIMIT_NOFILE.
func nrOpen() uint64 {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			return n
		}
	}
	return 1 << 20
}

// sourceAddrs dials from several loopback addresses when one address's
// ephemeral ports (ip_local_port_range, ~28,000 by default) cannot hold
// every connection the run opens towards the server.
type sourceAddrs struct {
	ips  []net.IP
	next atomic.Uint64
}

func newSourceAddrs(conns int) *sourceAddrs {
	perAddr := ephemeralPorts() * 3 / 4 // leave room for TIME_WAIT and other programs
	n := max(1, (conns+perAddr-1)/perAddr)
	s := &sourceAddrs{}
	for i := range n {
		s.ips = append(s.ips, net.IPv4(127, 0, 0, byte(1+i)))
	}
	return s
}

// DialContext connects from the next source address in turn. With one
// address it lets connect() pick the port, as any client does; with a
// source address set, IP_BIND_ADDRESS_NO_PORT still leaves the port to
// connect(), which can then share ports across destinations and reuse
// those in TIME_WAIT (a plain bind() before connect() can do neither, and
// runs out after one round of closed connections).
func (s *sourceAddrs) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1}
	if len(s.ips) > 1 {
		d.LocalAddr = &net.TCPAddr{IP: s.ips[int(s.next.Add(1)%uint64(len(s.ips)))]}
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	return d.DialContext(ctx, network, addr)
}

func ephemeralPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && hi > lo {
				return hi - lo + 1
			}
		}
	}
	return 28232 // Linux's default range, 32768–60999
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100

// cpuTime is the CPU time a process has used, from its own counters: the
// nanoseconds of /proc/<pid>/task/*/schedstat summed over its threads, or
// where that is missing the clock ticks of /proc/<pid>/stat (user + system,
// 10 ms steps, too coarse for an idle window).
func cpuTime(pid int) (time.Duration, error) {
	if d, ok := schedCPU(pid); ok {
		return d, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

func schedCPU(pid int) (time.Duration, bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, false
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		total += time.Duration(ns)
	}
	return total, true
}

func parseStatCPU(stat []byte) (time.Duration, error) {
	// The command name, in parentheses, may hold spaces: fields count from
	// the last ')'. utime and stime are fields 14 and 15 of the line.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// rss is a process's resident set size in bytes, from /proc/<pid>/status.
func rss(pid int) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}

// cpuOfCommands sums the CPU time of every process whose command name is
// one of names (PostgreSQL's backends, redis-server), for the figures of
// what the server's dependencies spent. Processes that end between the two
// readings are missed, so it is a lower bound.
func cpuOfCommands(names ...string) time.Duration {
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		comm := string(b[open+1 : end])
		for _, n := range names {
			if comm == n {
				if d, err := parseStatCPU(b); err == nil {
					total += d
				}
			}
		}
	}
	return total
}

// machineBusy is the CPU time all processes of the machine have used (the
// first line of /proc/stat: user, nice, system, irq, softirq and steal).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseUint(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// others measures what the rest of the machine does meanwhile: the CPU of
// every process but approvald (pid), PostgreSQL, Redis and the bench
// itself. Other work on the machine skews every figure; the report shows it.
type others struct {
	pid        int
	busy, mine time.Duration
	began      time.Time
}

func watchOthers(pid int) *others {
	o := &others{pid: pid, began: time.Now()}
	o.busy, o.mine = machineBusy(), o.ours()
	return o
}

func (o *others) ours() time.Duration {
	self, _ := cpuTime(os.Getpid())
	var server time.Duration
	if o.pid > 0 {
		server, _ = cpuTime(o.pid)
	}
	return self + server + cpuOfCommands("postgres", "redis-server")
}

// Cores is the average number of cores the others used since watchOthers.
func (o *others) Cores() float64 {
	wall := time.Since(o.began)
	if wall <= 0 {
		return 0
	}
	d := (machineBusy() - o.busy) - (o.ours() - o.mine)
	return max(d.Seconds(), 0) / wall.Seconds()
}

// Machine describes where the run happened.
type Machine struct {
	CPUModel  string `json:"cpu_model"`
	CPUs      int    `json:"cpus"`
	MemoryMiB uint64 `json:"memory_mib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				m.MemoryMiB = kb >> 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
