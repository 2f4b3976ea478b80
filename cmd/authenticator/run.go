package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/approvald/approvald/internal/authenticator"
)

const usageText = `authenticator — the approvald authenticator app, on the command line

Usage:
  authenticator enroll --server URL --code CODE [--name NAME] [--push-url URL] [--listen ADDR]
  authenticator listen [--addr ADDR] [--approve --number N | --deny [--report]] [--once]
  authenticator pending
  authenticator approve ID --number N
  authenticator deny ID [--report]
  authenticator code

  enroll    register this app as a device of your account (the code comes from
            your account page); --listen ADDR receives pushes at http://ADDR/push
  listen    wait for login requests and ask you to approve or deny each one
  pending   list the logins waiting for a decision (for devices without push)
  approve   approve a login with the number the browser shows
  deny      deny a login; --report says "this was not me" and pauses pushes
  code      print the current 6-digit code, for the browser's code field

Every command takes --state PATH: the file holding this device's key and TOTP
secret (default ~/.approvald-authenticator.json, mode 0600; keep it private).
Run "authenticator COMMAND -h" for the options of one command.
`

// usageError is a mistake in the command line; main exits 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...) + ` (see "authenticator -h")`}
}

// run is the whole program; main only calls it, and tests call it too.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usageText)
		return &usageError{"a command is required"}
	}
	cmd := &command{ctx: ctx, name: args[1], stdin: stdin, stdout: stdout, stderr: stderr}
	var err error
	switch args[1] {
	case "enroll":
		err = cmd.enroll(args[2:])
	case "listen":
		err = cmd.listen(args[2:])
	case "pending":
		err = cmd.pending(args[2:])
	case "approve":
		err = cmd.approve(args[2:])
	case "deny":
		err = cmd.deny(args[2:])
	case "code":
		err = cmd.code(args[2:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usageText)
		return nil
	default:
		fmt.Fprint(stderr, usageText)
		return usagef("unknown command %q", args[1])
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// command is one invocation: its streams and its flags.
type command struct {
	ctx            context.Context
	name           string
	stdin          io.Reader
	stdout, stderr io.Writer
	statePath      string
	stdinLines     <-chan string // see lines
}

// flags returns the subcommand's flag set, with --state on every one.
func (c *command) flags(synopsis, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.statePath, "state", "", "the device's state `file` (default ~/.approvald-authenticator.json)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: authenticator %s\n\n%s\n\nOptions:\n", synopsis, help)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags anywhere among the arguments ("approve ID --number 42"
// as well as "approve --number 42 ID") and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// path returns the state file's path: --state, or the default in $HOME.
func (c *command) path() (string, error) {
	if c.statePath != "" {
		return c.statePath, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("cannot find your home directory; name the state file with --state PATH")
	}
	return filepath.Join(home, ".approvald-authenticator.json"), nil
}

// load reads the device's state, telling a user who has not enrolled yet
// what to do.
func (c *command) load() (*authenticator.State, error) {
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: enroll this device first (authenticator enroll --server URL --code CODE)", path)
	}
	return authenticator.Load(path)
}

// client is a Client for st that saves st when the server's push key
// rotated and st pinned the new one.
func (c *command) client(st *authenticator.State) *authenticator.Client {
	cl := authenticator.NewClient(st)
	cl.KeyLearned = func() { c.saveLearned(st) }
	return cl
}

// saveLearned saves st after it learned the server's new push key.
func (c *command) saveLearned(st *authenticator.State) {
	path, err := c.path()
	if err == nil {
		err = st.Save(path)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "authenticator: the server's new push key %s is not saved: %v\n", st.ServerKeyID(), err)
		return
	}
	fmt.Fprintf(c.stderr, "The server's push key is now %s (announced under the key this device pinned); saved.\n", st.ServerKeyID())
}

// lines reads stdin one trimmed line at a time, on a goroutine, so a prompt
// can also give up when the context ends; the channel closes at EOF.
func (c *command) lines() <-chan string {
	if c.stdinLines == nil {
		ch := make(chan string)
		go func() {
			defer close(ch)
			sc := bufio.NewScanner(c.stdin)
			for sc.Scan() {
				ch <- strings.TrimSpace(sc.Text())
			}
		}()
		c.stdinLines = ch
	}
	return c.stdinLines
}

// ask prints a prompt and waits for one line of input.
func (c *command) ask(prompt string) (string, error) {
	fmt.Fprint(c.stdout, prompt)
	select {
	case line, ok := <-c.lines():
		if !ok {
			return "", errors.New("no more input on stdin")
		}
		return line, nil
	case <-c.ctx.Done():
		fmt.Fprintln(c.stdout)
		return "", c.ctx.Err()
	}
}
