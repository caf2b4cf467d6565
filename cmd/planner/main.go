// Command planner serves Planner and manages its database and users.
//
//	planner [serve] [flags]   migrate, then serve until SIGINT/SIGTERM
//	planner migrate [status]  bring the schema up to date, or list migrations
//	planner user create --email E [--name N] [--admin]
//	planner user set-password|promote|demote|unlock E
//	planner version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	_ "time/tzdata" // PLANNER_TIMEZONE works on machines without a zone database
)

func main() {
	tuneGC(os.Getenv, machineMemory())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// tuneGC sets the garbage collector of the process, unless GOGC or
// GOMEMLIMIT say otherwise. It is main's, not run's: the settings are the
// whole process's, and tests that call run must keep Go's own.
//
// Planner keeps little live memory (a few MiB) and makes mostly
// per-request garbage, so at Go's default GOGC=100 it collects dozens of
// times a second under load; 400 lets the heap grow five-fold between
// collections, which roughly halves GC work. The soft memory limit, half
// of what the machine or container gives the process, makes the collector
// work harder instead of letting that growth push the process out of
// memory; with no known size, there is none.
func tuneGC(getenv func(string) string, machine int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" && machine > 0 {
		debug.SetMemoryLimit(machine / 2)
	}
}

// machineMemory is the memory the process may use: its cgroup's limit
// when it has one, else the machine's RAM; 0 when neither can be read.
func machineMemory() int64 {
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return memTotal(string(b))
}

// memTotal reads MemTotal (in kB) from the text of /proc/meminfo.
func memTotal(meminfo string) int64 {
	for _, line := range strings.Split(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// usageError is a mistake in how the program was called: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode prints err in one line and returns the exit status: 0 success,
// 2 usage error, 1 anything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "planner: %s\n", oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

const usage = `usage:
  planner [serve] [flags]                  migrate the schema (unless --no-migrate), then serve
  planner migrate                          apply pending schema migrations and exit
  planner migrate status                   list the migrations and which are applied
  planner user create --email E [--name N] [--admin]
                                           create a user (password from stdin or prompt)
  planner user set-password E              set a password and end every session of E
  planner user promote E | demote E        make E an admin, or a user again
  planner user unlock E                    clear sign-in throttling for E
  planner version                          print the version
run "planner serve --help" for the serve flags (planner --help shows them too)`

// run is the whole program; main only adds the process around it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
		if len(cmd) > 0 && cmd[0] == '-' { // flags with no command: serve
			cmd, args = "serve", append([]string{cmd}, args...)
		}
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "user":
		return userCommand(ctx, args, getenv, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "planner", version())
		return nil
	case "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return usagef("unknown command %q (try \"planner help\")", cmd)
	}
}
