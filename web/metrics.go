package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"callhook/internal/callback"
	"callhook/internal/live"
)

// Metrics are the Prometheus metrics of the HTTP layer.
type Metrics struct {
	reg       *prometheus.Registry
	callbacks *prometheus.CounterVec
	unstored  *prometheus.CounterVec
	panics    prometheus.Counter
	latency   prometheus.Histogram
	handler   fiber.Handler
}

// NewMetrics registers callhook's metrics in a fresh registry.
func NewMetrics(hub *live.Hub) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "callhook_callbacks_total", Help: "Callbacks received, by outcome, reason and HTTP status.",
	}, []string{"outcome", "reason", "status"})
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
	m.reg.MustRegister(m.callbacks, m.unstored, m.panics, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if hub != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "callhook_live_clients", Help: "Open live-update WebSocket connections.",
		}, func() float64 { return float64(hub.Clients()) }))
	}
	h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	m.handler = func(c *fiber.Ctx) error { h(c.Context()); return nil }
	return m
}

// Panicked counts one recovered panic.
func (m *Metrics) Panicked() { m.panics.Inc() }

func (m *Metrics) observeCallback(r callback.Result, d time.Duration) {
	outcome := r.Outcome
	if outcome == "" {
		outcome = "error"
	}
	m.callbacks.WithLabelValues(outcome, r.Reason, strconv.Itoa(r.Status)).Inc()
	if outcome == "rejected" && !r.Stored {
		m.unstored.WithLabelValues(r.Reason).Inc()
	}
	if d > 0 {
		m.latency.Observe(d.Seconds())
	}
}
