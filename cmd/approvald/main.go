// Command approvald is the login service: password login, push approval
// with SMS/TOTP fallback, and JWT sessions.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "approvald:", err)
		os.Exit(1)
	}
}
