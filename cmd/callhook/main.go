// Command callhook receives telephony call callbacks, turns keypad input into
// alert actions and serves a live console. Run "callhook help" for commands.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"callhook/internal/auth"
	"callhook/internal/store"
)

const usage = `callhook — incident-alerting call callbacks with a live console

Usage:
  callhook serve [flags]                       run the server
  callhook migrate [--db URL]                  apply migrations and exit
  callhook user add NAME --role admin|viewer   add a console user (password from CALLHOOK_PASSWORD or stdin)
  callhook user passwd NAME                    set a user's password (from CALLHOOK_PASSWORD or stdin),
                                               e.g. the way back in for a lost admin password
  callhook token create NAME --role admin|viewer
                                               create an API token (printed once)
  callhook tail [--url URL] [--token T]        follow live events in the terminal
  callhook bench [--provider P] [--c 64] [--duration 30s] [--rate N] [--raw] [--json]
                                               load-test with signed call lifecycles and verify
                                               they were stored (own server, or --url + --token)
  callhook bench --prefill N --db URL          fill a database with N callbacks of history

Every flag can also be set by its environment variable, e.g. --db / CALLHOOK_DB.
`

func main() {
	tuneGC()
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "callhook:", err)
		os.Exit(1)
	}
}

// tuneGC makes the collector run a quarter as often as Go's default unless
// GOGC says otherwise, with a soft limit on the Go heap unless GOMEMLIMIT
// says otherwise: a callback allocates a few kilobytes that die at once, and
// at the default the collector took an eighth of the server's CPU under
// load (measured: 5,660 -> 6,550 signed callbacks/s, resident memory 54 ->
// 71 MB; README, "Performance"). The limit, 512 MiB, is where the collector
// runs harder; a limit near what a thousand open consoles legitimately hold
// made it run without pause.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(512 << 20)
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, ok := os.LookupEnv(name); ok {
		b, err := strconv.ParseBool(v)
		if err == nil {
			return b
		}
	}
	return def
}

// configFlags binds the settings of docs/architecture.md, "Configuration", to fs, defaulting from the environment.
func configFlags(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.Addr, "addr", env("CALLHOOK_ADDR", "127.0.0.1:8080"), "listen address (CALLHOOK_ADDR)")
	fs.StringVar(&c.DB, "db", env("CALLHOOK_DB", "sqlite://data/callhook.db"), "database URL: sqlite://PATH (CALLHOOK_DB)")
	fs.StringVar(&c.PublicURL, "public-url", env("CALLHOOK_PUBLIC_URL", ""), "base of callback URLs given to providers (CALLHOOK_PUBLIC_URL; default http://ADDR)")
	fs.StringVar(&c.AdminPassword, "admin-password", env("CALLHOOK_ADMIN_PASSWORD", ""), "password of the first admin user (CALLHOOK_ADMIN_PASSWORD)")
	fs.IntVar(&c.MaxBody, "max-body", envInt("CALLHOOK_MAX_BODY", 1<<20), "callback body limit in bytes (CALLHOOK_MAX_BODY)")
	fs.IntVar(&c.RateLimit, "rate-limit", envInt("CALLHOOK_RATE_LIMIT", 0), "callbacks per second per channel, 0 for no limit (CALLHOOK_RATE_LIMIT)")
	fs.IntVar(&c.MaxEvents, "max-events", envInt("CALLHOOK_MAX_EVENTS", 100), "events allowed in one callback (CALLHOOK_MAX_EVENTS)")
	fs.DurationVar(&c.RejectedRetention, "rejected-retention", envDuration("CALLHOOK_REJECTED_RETENTION", 168*time.Hour), "how long rejected callbacks are kept (CALLHOOK_REJECTED_RETENTION)")
	fs.IntVar(&c.RejectedMaxRows, "rejected-max-rows", envInt("CALLHOOK_REJECTED_MAX_ROWS", 100_000), "most rejected callbacks kept (CALLHOOK_REJECTED_MAX_ROWS)")
	fs.BoolVar(&c.Demo, "demo", envBool("CALLHOOK_DEMO", false), "place simulated demo calls (CALLHOOK_DEMO)")
	fs.StringVar(&c.LogLevel, "log-level", env("CALLHOOK_LOG_LEVEL", "info"), "debug, info, warn or error (CALLHOOK_LOG_LEVEL)")
	fs.DurationVar(&c.PollInterval, "poll-interval", envDuration("CALLHOOK_POLL_INTERVAL", 10*time.Second), "first status poll of calls whose provider sends no callbacks (CALLHOOK_POLL_INTERVAL)")
	fs.DurationVar(&c.PollMaxInterval, "poll-max-interval", envDuration("CALLHOOK_POLL_MAX_INTERVAL", 5*time.Minute), "poll back-off ceiling (CALLHOOK_POLL_MAX_INTERVAL)")
	return c
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, stdout, stderr)
	case "user":
		switch {
		case len(rest) > 0 && rest[0] == "add":
			return userAdd(ctx, rest[1:], stdin, stdout, stderr)
		case len(rest) > 0 && rest[0] == "passwd":
			return userPasswd(ctx, rest[1:], stdin, stdout, stderr)
		}
		return errors.New("usage: callhook user add NAME --role admin|viewer, or callhook user passwd NAME")
	case "token":
		if len(rest) == 0 || rest[0] != "create" {
			return errors.New("usage: callhook token create NAME --role admin|viewer")
		}
		return tokenCreate(ctx, rest[1:], stdout, stderr)
	case "tail":
		return tail(ctx, rest, stdout, stderr)
	case "bench":
		return bench(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := configFlags(fs)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	log := newLogger(cfg.LogLevel, stderr)
	app, err := Start(ctx, *cfg, log, stdout)
	if errors.Is(err, syscall.EADDRINUSE) {
		return addrInUse(cfg.Addr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "callhook is up: open %s in a browser\n", app.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	return app.Shutdown(30 * time.Second)
}

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := configFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr)
	st, err := openStore(ctx, *cfg, store.Options{Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations are up to date")
	return st.Close()
}

// nameAndFlags accepts NAME before or after the flags.
func nameAndFlags(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		return "", errors.New("a NAME is required")
	}
	return name, nil
}

// userCommand runs fn for a `user` subcommand: NAME and flags from args,
// the password from CALLHOOK_PASSWORD or stdin, the configured store open.
func userCommand(ctx context.Context, fs *flag.FlagSet, args []string, stdin io.Reader, stderr io.Writer,
	fn func(au *auth.Service, st *store.Store, name, password string) error) error {
	fs.SetOutput(stderr)
	cfg := configFlags(fs)
	name, err := nameAndFlags(fs, args)
	if err != nil {
		return err
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *cfg, store.Options{Logger: newLogger(cfg.LogLevel, stderr)})
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(&auth.Service{Store: st}, st, name, password)
}

func userAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	role := fs.String("role", "viewer", "admin or viewer")
	return userCommand(ctx, fs, args, stdin, stderr, func(au *auth.Service, _ *store.Store, name, password string) error {
		if _, err := au.CreateUser(ctx, name, password, *role); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s added with role %s\n", name, *role)
		return nil
	})
}

// userPasswd sets an existing user's password: with shell access to the
// database it is the way back in when the one-time admin password is lost
// (CALLHOOK_ADMIN_PASSWORD only applies to an empty database).
func userPasswd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user passwd", flag.ContinueOnError)
	return userCommand(ctx, fs, args, stdin, stderr, func(au *auth.Service, st *store.Store, name, password string) error {
		u, err := st.UserByName(ctx, name)
		if err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		if err := au.SetPassword(ctx, u, password); err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		msg := "password of user %s changed\n"
		if u.Disabled {
			msg = "password of user %s changed; the user is disabled: an admin enables it on the Users page\n"
		}
		fmt.Fprintf(stdout, msg, name)
		return nil
	})
}

// readPassword takes the password from CALLHOOK_PASSWORD, else the first
// line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if p := os.Getenv("CALLHOOK_PASSWORD"); p != "" {
		return p, nil
	}
	fmt.Fprint(stderr, "Password: ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password: set CALLHOOK_PASSWORD or type it on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// addrInUse says what to do when the listen address is taken, most often
// by another callhook (make run and make demo both default to port 8080).
func addrInUse(addr string) error {
	next := "127.0.0.1:8081"
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65535 {
			next = net.JoinHostPort(host, strconv.Itoa(n+1))
		}
	}
	return fmt.Errorf("%s is in use (is `make run` or another callhook running?): stop it, or set CALLHOOK_ADDR=%s (or --addr %s)", addr, next, next)
}

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := configFlags(fs)
	role := fs.String("role", "viewer", "admin or viewer")
	name, err := nameAndFlags(fs, args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *cfg, store.Options{Logger: newLogger(cfg.LogLevel, stderr)})
	if err != nil {
		return err
	}
	defer st.Close()
	au := &auth.Service{Store: st}
	token, _, err := au.CreateToken(ctx, name, *role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}
