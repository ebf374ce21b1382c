// Package cli builds Sampan's command tree: one file per subcommand.
package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/sampan-dev/sampan/internal/version"
)

// exitError carries a process exit code (from the embedded kubectl).
type exitError struct{ code int }

func (e *exitError) Error() string { return "exit status" }

// ExitCode returns the exit code an error asks for, if any.
func ExitCode(err error) (int, bool) {
	var e *exitError
	if errors.As(err, &e) {
		return e.code, true
	}
	return 0, false
}

// streams are the process's standard streams, injectable for tests.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// Run runs the sampan command line with args (args[0] is the program name).
func Run(ctx context.Context, args []string) error {
	return newRoot(streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}).run(ctx, args)
}

type root struct {
	streams
	cmd *cobra.Command
}

func newRoot(s streams) *root {
	r := &root{streams: s}
	r.cmd = &cobra.Command{
		Use:           "sampan",
		Short:         "A Kubernetes-compatible container cluster in one binary",
		Version:       version.Kubernetes(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	r.cmd.SetIn(s.in)
	r.cmd.SetOut(s.out)
	r.cmd.SetErr(s.err)
	r.cmd.AddCommand(newServerCommand(r), newKubectlCommand(r), newVersionCommand(r), newBenchCommand(r))
	r.cmd.AddCommand(newSimCommand(r))
	return r
}

func (r *root) run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		args = args[1:]
	}
	r.cmd.SetArgs(args)
	return r.cmd.ExecuteContext(ctx)
}

func (r *root) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(r.err, &slog.HandlerOptions{Level: level}))
}

func newVersionCommand(r *root) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(r.out, "sampan "+version.Kubernetes()+"\n")
			return err
		},
	}
}
