package web

import (
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"callhook/internal/callback"
	"callhook/internal/live"
	"callhook/internal/store"
)

// Metrics are callhook's Prometheus metrics: the HTTP layer's, the store
// writer's, the live hub's and the poller's. No series carries a label that
// differs between instances (docs/scale-out.md, "Metrics"): Prometheus adds
// the instance label, and the scrapes of several instances add up.
type Metrics struct {
	reg        *prometheus.Registry
	callbacks  *prometheus.CounterVec
	unstored   *prometheus.CounterVec
	panics     prometheus.Counter
	latency    prometheus.Histogram
	commitTime prometheus.Histogram
	batchSize  prometheus.Histogram
	notifyLag  prometheus.Histogram
	pollLag    prometheus.Histogram
	handler    fiber.Handler
}

// NewMetrics registers callhook's metrics in a fresh registry.
func NewMetrics(hub *live.Hub) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "callhook_callbacks_total", Help: "Callbacks received, by provider (empty for an unknown channel), outcome, reason and HTTP status.",
	}, []string{"provider", "outcome", "reason", "status"})
	m.unstored = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "callhook_callbacks_unstored_total",
		Help: "Refused callback requests not stored: an address over its bound of anonymous rejections, or a request unreadable before its path.",
	}, []string{"reason"})
	m.panics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "callhook_panics_total", Help: "Panics recovered in request handlers and background goroutines.",
	})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "callhook_callback_seconds", Help: "Time from receiving a callback to its reply (includes the commit).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	m.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "callhook_store_commit_seconds", Help: "Time from a write transaction's begin to its durable commit.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "callhook_store_commit_jobs", Help: "Writes (callbacks and others) per committed transaction (group commit).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	})
	m.notifyLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "callhook_notify_lag_seconds", Help: "Time from a feed row's creation on any instance to its delivery to this instance's live clients (PostgreSQL).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	})
	m.pollLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "callhook_poll_lag_seconds", Help: "How late a due status poll ran.",
		Buckets: []float64{.1, .25, .5, 1, 2, 5, 10, 30, 60, 300},
	})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "callhook_build_info", Help: "Always 1, labelled with the build's version and Go version.",
	}, []string{"version", "goversion"})
	version, goVersion := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, goVersion = bi.Main.Version, bi.GoVersion
	}
	build.WithLabelValues(version, goVersion).Set(1)
	m.reg.MustRegister(m.callbacks, m.unstored, m.panics, m.latency, m.commitTime, m.batchSize, m.notifyLag, m.pollLag, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if hub != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "callhook_live_clients", Help: "Open live-update WebSocket connections (stream and console subscribers).",
		}, func() float64 { return float64(hub.Clients()) }))
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "callhook_live_dropped_total", Help: "Live clients dropped for not keeping up (they reconnect and resume).",
		}, func() float64 { return float64(hub.SlowDrops()) }))
	}
	h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	m.handler = func(c *fiber.Ctx) error { h(c.Context()); return nil }
	return m
}

// Panicked counts one recovered panic.
func (m *Metrics) Panicked() { m.panics.Inc() }

// ObserveCommit records one committed write transaction (the store's
// commit observer).
func (m *Metrics) ObserveCommit(c store.CommitStats) {
	m.commitTime.Observe(c.Duration.Seconds())
	m.batchSize.Observe(float64(c.Jobs))
}

// ObserveNotifyLag records the delay of one feed row between its creation
// and its delivery to this instance (the store's notify-lag hook).
func (m *Metrics) ObserveNotifyLag(d time.Duration) { m.notifyLag.Observe(max(d, 0).Seconds()) }

// ObservePollLag records how late one due status poll ran.
func (m *Metrics) ObservePollLag(d time.Duration) { m.pollLag.Observe(max(d, 0).Seconds()) }

func (m *Metrics) observeCallback(r callback.Result, d time.Duration) {
	outcome := r.Outcome
	if outcome == "" {
		outcome = "error"
	}
	m.callbacks.WithLabelValues(r.Provider, outcome, r.Reason, strconv.Itoa(r.Status)).Inc()
	if outcome == "rejected" && !r.Stored {
		m.unstored.WithLabelValues(r.Reason).Inc()
	}
	if d > 0 {
		m.latency.Observe(d.Seconds())
	}
}
