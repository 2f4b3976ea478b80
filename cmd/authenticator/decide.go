package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
)

func (c *command) pending(args []string) error {
	fs := c.flags("pending", "Lists the logins waiting for this device's decision.")
	if err := noArguments(fs, args); err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	list, err := c.client(st).Pending(c.ctx)
	if err != nil {
		return explain(err)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "No logins are waiting.")
		return nil
	}
	now := time.Now()
	for _, p := range list {
		show(c.stdout, p, now)
	}
	fmt.Fprintln(c.stdout, "\nAnswer with: authenticator approve ID --number N   or   authenticator deny ID [--report]")
	return nil
}

func (c *command) approve(args []string) error {
	fs := c.flags("approve ID --number N",
		"Approves the login ID. N is the two-digit number the browser shows; a wrong\n"+
			"number denies the login for good.")
	number := fs.Int("number", 0, "the two-digit `number` shown in the browser")
	id, err := oneID(fs, args)
	if err != nil {
		return err
	}
	if !isMatchNumber(*number) {
		return usagef("approve needs --number N, the two-digit number shown in the browser")
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	return c.decide(c.client(st), id, decision{approve: true, number: *number})
}

func (c *command) deny(args []string) error {
	fs := c.flags("deny ID [--report]",
		"Denies the login ID. --report says \"this was not me\": pushes to your devices pause\n"+
			"for an hour and logins meanwhile need an SMS code.")
	report := fs.Bool("report", false, "report the login as not yours")
	id, err := oneID(fs, args)
	if err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	return c.decide(c.client(st), id, decision{report: *report})
}

func (c *command) code(args []string) error {
	fs := c.flags("code", "Prints the current 6-digit code, which the browser accepts in place of an SMS code.")
	if err := noArguments(fs, args); err != nil {
		return err
	}
	st, err := c.load()
	if err != nil {
		return err
	}
	code, err := authenticator.NewClient(st).Code(time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, code)
	return nil
}

// decision is one answer to a login.
type decision struct {
	approve bool
	number  int
	report  bool
}

// decide sends d for the approval id and says what came of it. An approve
// that the server turned into a deny (wrong number) is an error: what the
// user asked for did not happen.
func (c *command) decide(client *authenticator.Client, id string, d decision) error {
	var number *int
	if d.approve {
		number = &d.number
	}
	status, err := client.Decide(c.ctx, id, d.approve, number, d.report)
	switch {
	case err != nil:
		return explain(err)
	case d.approve && status == "approved":
		fmt.Fprintln(c.stdout, "Approved: the browser is signing in.")
	case d.approve:
		return errors.New("the number did not match the browser's: the login was denied (log in again to retry)")
	case d.report:
		fmt.Fprintln(c.stdout, "Denied and reported: pushes to your devices are paused for an hour. Consider changing your password.")
	default:
		fmt.Fprintln(c.stdout, "Denied.")
	}
	return nil
}

// explain adds what to do to the server's errors a user can act on.
func explain(err error) error {
	switch {
	case core.IsCode(err, core.EExpired):
		return fmt.Errorf("%w (the login expired; log in again)", err)
	case core.IsCode(err, core.EAlreadyDecided):
		return fmt.Errorf("%w (the login was already approved or denied)", err)
	case core.IsCode(err, core.ENotFound):
		return fmt.Errorf("%w (no such login for your account; see \"authenticator pending\")", err)
	case core.IsCode(err, core.EInvalidSignature):
		return fmt.Errorf("%w (was this device removed from your account, or is this computer's clock off?)", err)
	}
	return err
}

func noArguments(fs *flag.FlagSet, args []string) error {
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("%s takes no arguments, got %q", fs.Name(), rest[0])
	}
	return nil
}

// oneID parses the flags and the one approval id among them.
func oneID(fs *flag.FlagSet, args []string) (string, error) {
	rest, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(rest) != 1 {
		return "", usagef("%s needs exactly one approval ID (see \"authenticator pending\")", fs.Name())
	}
	return rest[0], nil
}

func isMatchNumber(n int) bool { return n >= 10 && n <= 99 }
