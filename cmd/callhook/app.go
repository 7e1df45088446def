package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/auth"
	"callhook/internal/callback"
	"callhook/internal/channel"
	"callhook/internal/demo"
	"callhook/internal/dispatch"
	"callhook/internal/live"
	"callhook/internal/provider"
	"callhook/internal/provider/dograh"
	"callhook/internal/provider/generic"
	"callhook/internal/provider/plivo"
	"callhook/internal/provider/signalwire"
	"callhook/internal/provider/simulator"
	"callhook/internal/provider/telnyx"
	"callhook/internal/provider/twilio"
	"callhook/internal/provider/vonage"
	"callhook/internal/provider/wavecell"
	"callhook/internal/settings"
	"callhook/internal/store"
	"callhook/views"
	"callhook/web"
)

// Config is the whole configuration of a server (docs/architecture.md, "Configuration").
type Config struct {
	Addr          string
	DB            string
	PublicURL     string
	AdminPassword string
	MaxBody       int
	RateLimit     int
	// MaxEvents is how many events one callback may carry.
	MaxEvents int
	// RejectedRetention and RejectedMaxRows bound the stored rejected callbacks.
	RejectedRetention time.Duration
	RejectedMaxRows   int
	Demo              bool
	LogLevel          string
	// DemoInterval is the time between demo alerts.
	DemoInterval time.Duration
	// PollInterval is the poller's first delay for providers without callbacks;
	// it doubles per attempt up to PollMaxInterval.
	PollInterval    time.Duration
	PollMaxInterval time.Duration
	// BcryptCost lowers password hashing cost in tests (0 = default).
	BcryptCost int
}

// Registry returns every provider adapter.
func Registry() *provider.Registry {
	return provider.NewRegistry(generic.Spec(), simulator.Spec(), twilio.Spec(), signalwire.Spec(),
		vonage.Spec(), plivo.Spec(), telnyx.Spec(), wavecell.Spec(), dograh.Spec())
}

// App is a wired callhook server.
type App struct {
	Config   Config
	Log      *slog.Logger
	Store    *store.Store
	Hub      *live.Hub
	Server   *web.Server
	Fiber    *fiber.App
	Auth     *auth.Service
	Dispatch *dispatch.Dispatcher
	ln       net.Listener
	cancel   context.CancelFunc
	done     chan struct{}
}

// URL returns the base URL the app listens on.
func (a *App) URL() string { return "http://" + a.ln.Addr().String() }

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// addWriterProc gives the process one processor more than Go chose (its
// cores), once, unless GOMAXPROCS says otherwise: the store's writer has a
// thread of its own at a raised priority, and the extra processor is free
// for it whenever it returns from a commit's fsync (internal/store's
// priority.go; README, "Performance").
func addWriterProc(log *slog.Logger) {
	addProcOnce.Do(func() {
		if os.Getenv("GOMAXPROCS") != "" {
			return
		}
		n := runtime.GOMAXPROCS(0) + 1
		runtime.GOMAXPROCS(n)
		log.Debug("the writer has a thread of its own at a raised priority", "gomaxprocs", n)
	})
}

var addProcOnce sync.Once

// openStore opens and migrates the database of cfg; opt.Logger also
// receives the names of the migrations applied.
func openStore(ctx context.Context, cfg Config, opt store.Options) (*store.Store, error) {
	log := opt.Logger
	st, err := store.Open(cfg.DB, opt)
	if err != nil {
		return nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "names", strings.Join(applied, ","))
	}
	return st, nil
}

// Start opens the database, wires every service and starts serving. out
// receives the one-time generated admin password.
func Start(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (*App, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	trustHost := cfg.PublicURL == ""
	if trustHost {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	st, err := openStore(ctx, cfg, store.Options{Logger: log, RaiseWriter: true})
	if err != nil {
		ln.Close()
		return nil, err
	}
	if st.WriterRaised() {
		addWriterProc(log)
	}
	hub := live.NewHub(512)
	metrics := web.NewMetrics(hub)
	st.SetCommitObserver(metrics.ObserveCommit)
	if err := st.SetOnCommit(hub.Publish); err != nil {
		st.Close()
		ln.Close()
		return nil, err
	}
	st.SetNotifyLag(metrics.ObserveNotifyLag)
	st.SetFeedWanted(func() bool { return !hub.Idle() })
	hub.StartRenderer(st, views.Live{})
	reg := Registry()
	deps := provider.Deps{HTTPClient: provider.NewOutboundClient(15 * time.Second), Logger: log}
	cbs := &callback.Service{Store: st, Providers: reg, PublicURL: cfg.PublicURL, Deps: deps, Log: log, Notifier: hub,
		TrustHost: trustHost, MaxEvents: cfg.MaxEvents, OnPanic: metrics.Panicked}
	cbs.SetRateLimit(cfg.RateLimit)
	au := &auth.Service{Store: st, Cost: cfg.BcryptCost}
	if created, generated, err := au.Bootstrap(ctx, cfg.AdminPassword); err != nil {
		st.Close()
		ln.Close()
		return nil, fmt.Errorf("create admin user: %w", err)
	} else if created && generated != "" {
		fmt.Fprintf(out, "\n  Created user \"admin\" with password: %s\n  It is shown only this once; change it on the Users page.\n\n", generated)
	} else if created {
		log.Info("created user admin from CALLHOOK_ADMIN_PASSWORD")
	} else if cfg.AdminPassword != "" {
		log.Warn("CALLHOOK_ADMIN_PASSWORD was not applied: the database already has users, and it only sets the first admin's password; change a password with `callhook user passwd NAME` or on the Users page")
	}
	chm := &channel.Manager{Store: st, Providers: reg, PublicURL: cfg.PublicURL}
	disp := &dispatch.Dispatcher{Store: st, Channels: chm, Deps: deps, Log: log, PollInterval: cfg.PollInterval, PollMaxInterval: cfg.PollMaxInterval}
	srv := &web.Server{
		Config:  web.Config{PublicURL: cfg.PublicURL, MaxBody: cfg.MaxBody, SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://")},
		Metrics: metrics,
		Store:   st, Auth: au, Channels: chm, Dispatch: disp, Callbacks: cbs,
		Settings: &settings.Settings{Store: st, Providers: reg}, Providers: reg, Hub: hub, Log: log, Started: time.Now(),
	}
	app := &App{Config: cfg, Log: log, Store: st, Hub: hub, Server: srv, Fiber: web.New(srv), Auth: au, Dispatch: disp,
		ln: ln, done: make(chan struct{})}
	bg, cancel := context.WithCancel(context.Background())
	app.cancel = cancel
	sup := supervisor{log: log, panicked: metrics.Panicked}
	sup.run(bg, "poller", func(ctx context.Context) { disp.RunPoller(ctx, 2*time.Second, metrics.ObservePollLag) })
	sup.run(bg, "feed pruning", func(ctx context.Context) { pruneFeed(ctx, st, log) })
	sup.run(bg, "rejected pruning", func(ctx context.Context) {
		pruneRejected(ctx, st, log, cfg.RejectedRetention, cfg.RejectedMaxRows)
	})
	if cfg.Demo {
		sup.run(bg, "demo", func(ctx context.Context) {
			if err := demo.Run(ctx, st, chm, disp, cfg.DemoInterval, log); err != nil {
				log.Error("demo mode stopped", "err", err)
			}
		})
	}
	go func() {
		defer close(app.done)
		if err := app.Fiber.Listener(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Error("server stopped", "err", err)
		}
	}()
	log.Info("callhook serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "demo", cfg.Demo)
	return app, nil
}

// Shutdown stops accepting, lets in-flight requests (callbacks included)
// finish, closes live connections and then the database.
func (a *App) Shutdown(timeout time.Duration) error {
	a.cancel()
	err := a.Fiber.ShutdownWithTimeout(timeout)
	a.Server.CloseConnections()
	<-a.done
	a.Server.Callbacks.Wait()
	return errors.Join(err, a.Store.Close())
}

// feedKeep is how many live-feed rows are kept for clients that resume.
const feedKeep = 500_000

// pruneFeed trims the live feed every ten minutes.
func pruneFeed(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := st.PruneFeed(ctx, feedKeep); err != nil {
				log.Warn("prune live feed", "err", err)
			} else if n > 0 {
				log.Info("pruned live feed", "rows", n)
			}
		}
	}
}

// pruneRejected keeps the stored rejected callbacks within their age and row
// bounds, checking every ten seconds; each pass deletes in small writes so
// callbacks never wait behind it.
func pruneRejected(ctx context.Context, st *store.Store, log *slog.Logger, retention time.Duration, maxRows int) {
	if retention <= 0 {
		retention = 168 * time.Hour
	}
	if maxRows <= 0 {
		maxRows = 100_000
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		if n, err := st.PruneRejected(ctx, time.Now().Add(-retention), maxRows); err != nil && ctx.Err() == nil {
			log.Warn("prune rejected callbacks", "err", err)
		} else if n > 0 {
			log.Info("pruned rejected callbacks", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// supervisor runs the server's background loops; a loop that panics is
// logged with its stack, counted, and started again after a second, so a
// bug in one loop neither ends the process nor stops the loop for good.
type supervisor struct {
	log      *slog.Logger
	panicked func()
}

func (s supervisor) run(ctx context.Context, name string, fn func(context.Context)) {
	go func() {
		for ctx.Err() == nil {
			if !s.once(ctx, name, fn) {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}

// once runs fn and reports whether it ended by a panic.
func (s supervisor) once(ctx context.Context, name string, fn func(context.Context)) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			s.log.Error("panic recovered", "in", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			s.panicked()
		}
	}()
	fn(ctx)
	return false
}
