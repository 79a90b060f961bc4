// Command loam runs the Loam backend; see `loam help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"loam/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
