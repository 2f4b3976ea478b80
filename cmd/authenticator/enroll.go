package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"unicode/utf8"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
)

// maxNameRunes is the server's limit on a device name.
const maxNameRunes = 64

func (c *command) enroll(args []string) error {
	fs := c.flags("enroll --server URL --code CODE [--name NAME] [--push-url URL] [--listen ADDR] [--force]",
		"Registers this app as an authenticator device of your account. Get the one-time\n"+
			"enrollment code from your account page (it is asked for on stdin when --code is\n"+
			"left out, which keeps it out of your shell history).\n\n"+
			"With --listen ADDR the server pushes logins to http://ADDR/push, which\n"+
			"\"authenticator listen\" serves (only a server that itself runs on loopback, for\n"+
			"development, pushes to a loopback address; use --push-url for a public https URL\n"+
			"that reaches ADDR). With neither, the device pulls:\n"+
			"\"authenticator listen\" polls, and \"authenticator pending\" lists.")
	server := fs.String("server", "", "the approvald base `URL`, e.g. https://login.example.com")
	code := fs.String("code", "", "the one-time enrollment `code`")
	name := fs.String("name", defaultDeviceName(), "the device's `name`, shown in your device list")
	pushURL := fs.String("push-url", "", "the `URL` the server pushes logins to")
	listenAddr := fs.String("listen", "", "the `address` \"listen\" serves pushes on; the push URL defaults to http://ADDR/push")
	force := fs.Bool("force", false, "replace an existing state file (that device stays enrolled until you remove it)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("enroll takes no arguments, got %q", rest[0])
	}
	if *server == "" {
		return usagef("enroll needs --server URL")
	}
	if *listenAddr != "" {
		if _, _, err := net.SplitHostPort(*listenAddr); err != nil {
			return usagef("--listen must be host:port, such as 127.0.0.1:9300")
		}
		if *pushURL == "" {
			*pushURL = "http://" + *listenAddr + "/push"
		}
	}
	if utf8.RuneCountInString(*name) > maxNameRunes {
		return usagef("--name must be at most %d characters", maxNameRunes)
	}
	path, err := c.path()
	if err != nil {
		return err
	}
	st, err := c.pendingState(path, *server, *pushURL, *force)
	if err != nil {
		return err
	}
	st.ListenAddr = *listenAddr
	// The key is on disk before the server hears of it: a state file that
	// cannot be written (no home directory, a missing folder) fails here,
	// not after a device was registered whose key would then be lost.
	if err := st.Save(path); err != nil {
		return fmt.Errorf("%w; nothing was sent to the server (name a file in a folder you can write with --state PATH)", err)
	}
	if *code == "" {
		if *code, err = c.ask("enrollment code: "); err != nil {
			return err
		}
		if *code == "" {
			return errors.New("no enrollment code given")
		}
	}

	if err := st.Register(c.ctx, *code, *name); err != nil {
		// The pending key stays in path, so enroll can simply be run again
		// (with a new code when this one was spent): deleting it could lose
		// the key of a device the server did register when only its answer
		// was lost.
		if core.IsCode(err, core.EKeyTaken) {
			return fmt.Errorf("enrolling: %w; an earlier attempt registered the key in %s without finishing: remove that device from your device list, then enroll again with --force", err, path)
		}
		return fmt.Errorf("enrolling: %w; the new key stays in %s: run enroll again to retry", err, path)
	}
	if err := st.Save(path); err != nil {
		return fmt.Errorf("%w; the server enrolled device %s, but %s still holds it as not registered: remove the device from your device list and enroll again with --force", err, st.DeviceID, path)
	}
	fmt.Fprintf(c.stdout, "Enrolled as device %s with %s.\n", st.DeviceID, st.Server)
	fmt.Fprintf(c.stdout, "Its key and TOTP secret are in %s (mode 0600); keep that file private.\n", path)
	if st.PushURL != "" {
		fmt.Fprintf(c.stdout, "Logins are pushed to %s: run \"authenticator listen\" to answer them.\n", st.PushURL)
	} else {
		fmt.Fprintln(c.stdout, `No push URL: run "authenticator listen" (it polls) or "authenticator pending".`)
	}
	return nil
}

// pendingState is the key enroll registers: the pending one a failed enroll
// left in path (so a retry registers the key already on disk), or a new
// one. A registered device's file is replaced only with --force.
func (c *command) pendingState(path, server, pushURL string, force bool) (*authenticator.State, error) {
	if force {
		return authenticator.NewPending(server, pushURL)
	}
	if _, err := os.Stat(path); err != nil {
		// Nothing to keep; should path be unusable, saving says why.
		return authenticator.NewPending(server, pushURL)
	}
	old, err := authenticator.ReadState(path)
	if err != nil {
		return nil, fmt.Errorf("%w (use --force to replace it)", err)
	}
	if !old.Pending {
		return nil, fmt.Errorf("%s already exists: this app is enrolled already (use --force to replace it, or --state for another file)", path)
	}
	norm, err := authenticator.NormalizeServer(server)
	if err != nil {
		return nil, err
	}
	if old.Server != norm {
		return nil, fmt.Errorf("%s holds an unfinished enrollment with %s (use --force to replace it, or --state for another file)", path, old.Server)
	}
	old.PushURL = pushURL
	fmt.Fprintf(c.stdout, "Retrying the unfinished enrollment in %s with its key.\n", path)
	return old, nil
}

// defaultDeviceName names the device after the machine.
func defaultDeviceName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "CLI authenticator"
	}
	name := "CLI authenticator on " + host
	if utf8.RuneCountInString(name) > maxNameRunes {
		name = string([]rune(name)[:maxNameRunes])
	}
	return name
}
