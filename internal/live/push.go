package live

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"

	"callhook/internal/store"
	"callhook/internal/voice"
)

// Views are the pages' own components the renderer makes fragments with,
// so that a pushed row is the row a page load shows (views.Live is the one
// the server runs with). live depends on this set, not on the views
// package, which sits above it.
type Views interface {
	CallRow(c voice.CallView, compact bool) templ.Component
	CallbackRow(cb voice.CallbackView, compact bool) templ.Component
	TimelineEntry(e voice.EventView, hasAlert bool) templ.Component
	// AlertCard is the dashboard's card, AlertRow the alerts page's row and
	// AlertDetail the alert's page; admin adds the Call again button.
	AlertCard(a voice.AlertView, admin bool) templ.Component
	AlertRow(a voice.AlertView, admin bool) templ.Component
	AlertDetail(a voice.AlertView, channelName, keypadPrompt string, admin bool) templ.Component
	CallFacts(c voice.CallView, channelName, alertTitle, alertState string) templ.Component
	FailedSummary(firing []voice.AlertView) templ.Component
	FailedSummaryID() string
	DashboardCounters(inProgress, firing, acknowledged, rejected, limit int) templ.Component
	StatsTable(rows []voice.Stat) templ.Component
}

// Reads is what the renderer and a resuming console read from the store:
// once per committed batch (or per resume), never per subscriber.
type Reads interface {
	Feed
	DashboardCounts(ctx context.Context, since time.Time, limit int) (store.Counts, error)
	AlertView(ctx context.Context, id int64) (voice.AlertView, error)
	Alert(ctx context.Context, id int64) (*store.Alert, error)
	CachedChannel(ctx context.Context, id string) (*store.Channel, error)
	// Alerts and AlertViews read the newest firing alerts for the
	// failed-calls summary above the alert lists.
	Alerts(ctx context.Context, f store.ListFilter) (store.Page[store.Alert], error)
	AlertViews(ctx context.Context, alerts []store.Alert) ([]voice.AlertView, error)
	// Stats are the stats page's totals (cached by the store for a few
	// seconds: see statsRecheck).
	Stats(ctx context.Context) ([]voice.Stat, error)
}

// countCap bounds the dashboard counters, as the dashboard page does
// (web/console_ops.go): a count at the cap shows as "500+".
const countCap = 500

// Frag is one change to a console page, applied by static/app.js:
//   - "inner": the region's content becomes HTML (the counters, a call's facts);
//   - "row": the element ID becomes HTML; if the page does not show it, it is
//     inserted into the region's rows when the region takes new rows;
//   - "remove": the element ID goes (an alert that left the open list).
//
// What differs per session is not in the HTML: forms carry an empty _csrf
// and next that the page fills in, and the few admin-only buttons come as a
// viewer and an admin variant of the same fragment (role).
type Frag struct {
	Op     string `json:"op"`
	Region string `json:"region"`
	ID     string `json:"id,omitempty"`
	HTML   string `json:"html,omitempty"`
	// role: 0 for everyone, roleViewer or roleAdmin for a variant (an
	// alert's Call again button is for admins).
	role int
}

const (
	roleViewer = 1
	roleAdmin  = 2
)

// pushMsg is what a console receives for one topic of one batch.
type pushMsg struct {
	Type  string `json:"type"` // "push"
	Seq   int64  `json:"seq"`
	Topic string `json:"topic"`
	Frags []Frag `json:"frags"`
}

// attentionMsg goes to every console when alerts change: the firing count
// for the tab title and the alerts that just started firing, for the
// opt-in notification.
type attentionMsg struct {
	Type   string      `json:"type"` // "attention"
	Seq    int64       `json:"seq"`
	Firing int         `json:"firing"`
	New    []newFiring `json:"new,omitempty"`
}

type newFiring struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

// ValidTopic reports whether a console may subscribe to topic: dashboard,
// calls, alerts, callbacks, stats, call:ID or alert:ID.
func ValidTopic(t string) bool {
	switch t {
	case "dashboard", "calls", "alerts", "callbacks", "stats":
		return true
	}
	for _, p := range []string{"call:", "alert:"} {
		if rest, ok := strings.CutPrefix(t, p); ok {
			n, err := strconv.ParseInt(rest, 10, 64)
			return err == nil && n > 0 && strconv.FormatInt(n, 10) == rest
		}
	}
	return false
}

// rendered is the outcome of rendering one batch: per topic its fragments
// (role-tagged), and the attention message if alerts changed.
type rendered struct {
	seq       int64
	topics    map[string][]Frag
	order     []string
	attention *attentionMsg
	// stats: the stats table was due (rendered, or found unchanged).
	stats bool
}

// renderGap is the least time between two renders' starts. A lone change
// is rendered at once; under load, batches that commit within the gap
// share one render and one message per console, which is what keeps a
// thousand consoles' writes affordable.
const renderGap = 20 * time.Millisecond

// failedMax is how many of the newest firing alerts the failed-calls
// summary looks at, as the alerts page's first page does
// (web/console_ops_alerts.go).
const failedMax = 50

// statsRecheck is when the stats table is rendered once more after a
// change: the store serves the totals from a cache up to 5 s old
// (internal/store/reads.go), so the render right after a commit may not
// count it yet; this one does.
const statsRecheck = 5500 * time.Millisecond

// renderState is what the renderer remembers between batches so that it
// neither reads nor sends what has not changed: the failed-calls summary's
// alerts and the stats table last sent. A resuming console's catch-up uses
// a fresh one, so it reads both when its missed rows touch them.
type renderState struct {
	failedKnown bool
	failed      map[int64]bool
	stats       string
}

// failedStale reports whether one of the changed alerts joins or leaves
// the failed-calls summary last rendered (or none was rendered yet).
func (st *renderState) failedStale(changed []voice.AlertView) bool {
	if !st.failedKnown {
		return true
	}
	for _, a := range changed {
		if a.CallsFailed() != st.failed[a.ID] {
			return true
		}
	}
	return false
}

func (st *renderState) setFailed(firing []voice.AlertView) {
	st.failedKnown, st.failed = true, map[int64]bool{}
	for _, a := range firing {
		if a.CallsFailed() {
			st.failed[a.ID] = true
		}
	}
}

// statsFrag renders the stats table; ok is false when it is what was last
// sent, or unreadable.
func (st *renderState) statsFrag(ctx context.Context, reads Reads, v Views) (Frag, bool) {
	rows, err := reads.Stats(ctx)
	if err != nil {
		return Frag{}, false
	}
	var b bytes.Buffer
	_ = v.StatsTable(rows).Render(ctx, &b)
	if b.String() == st.stats {
		return Frag{}, false
	}
	st.stats = b.String()
	return Frag{Op: "inner", Region: "stats-table", HTML: st.stats}, true
}

// renderBatch renders the fragments of items for the topics in want. It is
// the single place fragments are made: the renderer goroutine calls it once
// per batch for every topic any console shows, and a resuming console calls
// it once for what it missed.
func renderBatch(ctx context.Context, reads Reads, views Views, items []voice.FeedItem, want func(string) bool, st *renderState) rendered {
	out := rendered{topics: map[string][]Frag{}}
	index := map[string]int{} // topic + element id -> position, so a batch sends an element once, in its latest state
	add := func(topic string, f Frag) {
		if !want(topic) {
			return
		}
		if _, ok := out.topics[topic]; !ok {
			out.order = append(out.order, topic)
		}
		key := topic + "\x00" + f.Region + "\x00" + f.ID + "\x00" + strconv.Itoa(f.role)
		if i, ok := index[key]; ok {
			out.topics[topic][i] = f
			return
		}
		index[key] = len(out.topics[topic])
		out.topics[topic] = append(out.topics[topic], f)
	}
	html := func(c templ.Component) string {
		var b bytes.Buffer
		_ = c.Render(ctx, &b) // a template cannot fail on a bytes.Buffer
		return b.String()
	}
	countsDirty, statsDirty := false, false
	alerts := map[int64]bool{}
	var alertOrder []int64
	markAlert := func(id *int64) {
		if id != nil && !alerts[*id] {
			alerts[*id] = true
			alertOrder = append(alertOrder, *id)
		}
	}
	calls := map[int64]voice.CallView{}
	var callOrder []int64
	var fresh []newFiring
	for _, it := range items {
		out.seq = max(out.seq, it.Seq)
		switch it.Type {
		case voice.FeedCallCreated, voice.FeedCallUpdated:
			var v voice.CallView
			if json.Unmarshal([]byte(it.Data), &v) != nil || v.ID == 0 {
				continue
			}
			id := "call-row-" + strconv.FormatInt(v.ID, 10)
			add("dashboard", Frag{Op: "row", Region: "dash-calls", ID: id, HTML: html(views.CallRow(v, true))})
			add("calls", Frag{Op: "row", Region: "calls-list", ID: id, HTML: html(views.CallRow(v, false))})
			if _, ok := calls[v.ID]; !ok {
				callOrder = append(callOrder, v.ID)
			}
			calls[v.ID] = v
			markAlert(v.AlertID)
			countsDirty, statsDirty = true, true
		case voice.FeedEvent:
			var e voice.EventView
			if it.CallID == nil || json.Unmarshal([]byte(it.Data), &e) != nil || e.ID == 0 {
				continue
			}
			add("call:"+strconv.FormatInt(*it.CallID, 10), Frag{Op: "row", Region: "call-timeline",
				ID: "event-" + strconv.FormatInt(e.ID, 10), HTML: html(views.TimelineEntry(e, it.AlertID != nil))})
		case voice.FeedAlertCreated, voice.FeedAlertUpdated:
			markAlert(it.AlertID)
			countsDirty = true
			if it.Type == voice.FeedAlertCreated {
				var a voice.AlertView
				if json.Unmarshal([]byte(it.Data), &a) == nil && a.State == "firing" {
					fresh = append(fresh, newFiring{ID: a.ID, Title: a.Title})
				}
			}
		case voice.FeedCallback:
			var cb voice.CallbackView
			if json.Unmarshal([]byte(it.Data), &cb) != nil || cb.ID == 0 {
				continue
			}
			id := "callback-row-" + strconv.FormatInt(cb.ID, 10)
			add("dashboard", Frag{Op: "row", Region: "dash-callbacks", ID: id, HTML: html(views.CallbackRow(cb, true))})
			add("callbacks", Frag{Op: "row", Region: "callbacks-list", ID: id, HTML: html(views.CallbackRow(cb, false))})
			if cb.Outcome == "rejected" {
				countsDirty = true
			}
		}
	}
	// An alert's card, row and page follow its calls as well as its state.
	var changed []voice.AlertView
	for _, id := range alertOrder {
		sid := strconv.FormatInt(id, 10)
		page := "alert:" + sid
		// The renderer cannot know which calls an alert has before reading
		// it, so "call:*" (some call page is open) asks for the read too.
		if !want("dashboard") && !want("alerts") && !want("call:*") && !want(page) {
			continue
		}
		a, err := reads.AlertView(ctx, id)
		if err != nil {
			continue // deleted or unreadable: the next change or reload shows it
		}
		changed = append(changed, a)
		// Only an alert whose calls all failed looks different to an admin
		// (the Call again button): the others are rendered once for all.
		roles := []int{0}
		if a.CallsFailed() {
			roles = []int{roleViewer, roleAdmin}
		}
		if want(page) {
			name, prompt := "", store.ChannelDTMF(nil).Prompt()
			if a.ChannelID != nil {
				if ch, err := reads.CachedChannel(ctx, *a.ChannelID); err == nil {
					name, prompt = ch.Name, store.ChannelDTMF(ch).Prompt()
				}
			}
			for _, role := range roles {
				add(page, Frag{Op: "inner", Region: "alert-detail", HTML: html(views.AlertDetail(a, name, prompt, role == roleAdmin)), role: role})
			}
		}
		if !want("dashboard") && !want("alerts") {
			continue
		}
		for _, role := range roles {
			admin := role == roleAdmin
			if a.State == "firing" || a.State == "acknowledged" {
				add("dashboard", Frag{Op: "row", Region: "dash-alerts", ID: "alert-card-" + sid, HTML: html(views.AlertCard(a, admin)), role: role})
			} else {
				add("dashboard", Frag{Op: "remove", Region: "dash-alerts", ID: "alert-card-" + sid, role: role})
			}
			add("alerts", Frag{Op: "row", Region: "alerts-list", ID: "alert-row-" + sid, HTML: html(views.AlertRow(a, admin)), role: role})
		}
	}
	// A call's facts show its alert's state.
	for _, a := range changed {
		for _, c := range a.Calls {
			if want("call:" + strconv.FormatInt(c.ID, 10)) {
				if _, ok := calls[c.ID]; !ok {
					callOrder = append(callOrder, c.ID)
					calls[c.ID] = c
				}
			}
		}
	}
	// The summary above the alert lists names the firing alerts whose
	// calls all failed; it is read again only when a changed alert joins or
	// leaves it.
	if len(changed) > 0 && (want("dashboard") || want("alerts")) && st.failedStale(changed) {
		if p, err := reads.Alerts(ctx, store.ListFilter{Status: string(voice.AlertFiring), Limit: failedMax}); err == nil {
			if as, err := reads.AlertViews(ctx, p.Items); err == nil {
				st.setFailed(as)
				h, id := html(views.FailedSummary(as)), views.FailedSummaryID()
				add("dashboard", Frag{Op: "inner", Region: id, HTML: h})
				add("alerts", Frag{Op: "inner", Region: id, HTML: h})
			}
		}
	}
	for _, id := range callOrder {
		topic := "call:" + strconv.FormatInt(id, 10)
		if !want(topic) {
			continue
		}
		c := calls[id]
		var channel, alertTitle, alertState string
		if c.AlertID != nil {
			if a, err := reads.Alert(ctx, *c.AlertID); err == nil {
				alertTitle, alertState = a.Title, a.State
			}
		}
		if ch, err := reads.CachedChannel(ctx, c.ChannelID); err == nil {
			channel = ch.Name
		}
		add(topic, Frag{Op: "inner", Region: "call-facts", HTML: html(views.CallFacts(c, channel, alertTitle, alertState))})
	}
	if statsDirty && want("stats") {
		if f, ok := st.statsFrag(ctx, reads, views); ok {
			add("stats", f)
		}
		out.stats = true
	}
	if countsDirty {
		if c, err := reads.DashboardCounts(ctx, time.Now().Add(-time.Hour), countCap); err == nil {
			add("dashboard", Frag{Op: "inner", Region: "dash-counters",
				HTML: html(views.DashboardCounters(c.InProgress, c.Firing, c.Acknowledged, c.Rejected, c.Cap))})
			if len(alerts) > 0 {
				out.attention = &attentionMsg{Type: "attention", Seq: out.seq, Firing: c.Firing, New: fresh}
			}
		}
	}
	return out
}

// encode marshals the fragments of topic for role (viewer or admin).
func (r rendered) encode(topic string, role int) []byte {
	var fs []Frag
	for _, f := range r.topics[topic] {
		if f.role == 0 || f.role == role {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return nil
	}
	b, err := marshalPush(pushMsg{Type: "push", Seq: r.seq, Topic: topic, Frags: fs})
	if err != nil {
		return nil
	}
	return b
}

// marshalPush encodes a push message without escaping HTML: fragments are
// HTML, and json.Marshal's \u003c for every < and > made a dashboard push
// about twice its size. The message is parsed by JSON.parse, never placed
// in a page as text, so the escaping protects nothing.
func marshalPush(m pushMsg) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// renderer turns committed batches into console fragments on its own
// goroutine, in commit order. Batches that queue up while it renders are
// rendered together: under load a console gets fewer, larger pushes instead
// of falling behind.
type renderer struct {
	hub     *Hub
	reads   Reads
	v       Views
	mu      sync.Mutex
	pending []voice.FeedItem
	reset   bool
	wake    chan struct{}
	done    chan struct{}
	once    sync.Once
	// st is touched only by run's goroutine.
	st renderState
}

// StartRenderer starts rendering console fragments from reads with v;
// Close stops it.
func (h *Hub) StartRenderer(reads Reads, v Views) {
	r := &renderer{hub: h, reads: reads, v: v, wake: make(chan struct{}, 1), done: make(chan struct{})}
	h.mu.Lock()
	h.r = r
	h.mu.Unlock()
	go r.run()
}

// views returns what the renderer renders with (nil: no renderer, so no
// consoles are served).
func (h *Hub) views() Views {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.r == nil {
		return nil
	}
	return h.r.v
}

// queue hands the renderer committed rows; reset makes it forget what it
// last rendered first (rows were skipped while nobody was subscribed).
func (r *renderer) queue(items []voice.FeedItem, reset bool) {
	r.mu.Lock()
	r.pending = append(r.pending, items...)
	r.reset = r.reset || reset
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *renderer) stop() { r.once.Do(func() { close(r.done) }) }

func (r *renderer) run() {
	var recheck <-chan time.Time
	var began time.Time
	for {
		select {
		case <-r.done:
			return
		case <-recheck:
			recheck = nil
			r.hub.pushStats(r.reads, r.v, &r.st)
			continue
		case <-r.wake:
		}
		// Renders start at least renderGap apart: what commits meanwhile
		// is rendered together, each row once in its latest state, so
		// under load a console gets one message per gap.
		if wait := renderGap - time.Since(began); wait > 0 {
			select {
			case <-r.done:
				return
			case <-time.After(wait):
			}
		}
		began = time.Now()
		r.mu.Lock()
		items, reset := r.pending, r.reset
		r.pending, r.reset = nil, false
		r.mu.Unlock()
		if reset {
			r.st = renderState{}
		}
		if len(items) > 0 && r.hub.pushBatch(r.reads, r.v, items, &r.st) && recheck == nil {
			recheck = time.After(statsRecheck)
		}
	}
}

// pushStats sends the stats table to the consoles showing it if it changed
// since it was last sent. It is outside the feed's sequence (seq 0): a
// console that resumes gets the table from its catch-up or reload.
func (h *Hub) pushStats(reads Reads, v Views, st *renderState) {
	if !h.wants("stats") {
		return
	}
	f, ok := st.statsFrag(context.Background(), reads, v)
	if !ok {
		return
	}
	b, err := marshalPush(pushMsg{Type: "push", Topic: "stats", Frags: []Frag{f}})
	if err != nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if c.console && slices.Contains(c.topics, "stats") {
			h.deliver(c, []frame{{data: b}})
		}
	}
}

// wants reports whether some console shows topic.
func (h *Hub) wants(topic string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if c.console && slices.Contains(c.topics, topic) {
			return true
		}
	}
	return false
}

// pushBatch renders items once for the topics the consoles show and sends
// each console the messages of its topics. It reports whether the stats
// table was due, so that the renderer looks at it again later.
func (h *Hub) pushBatch(reads Reads, v Views, items []voice.FeedItem, st *renderState) bool {
	h.mu.RLock()
	topics := map[string]bool{}
	consoles := 0
	for c := range h.clients {
		if c.console {
			consoles++
			for _, t := range c.topics {
				topics[t] = true
				if strings.HasPrefix(t, "call:") {
					topics["call:*"] = true
				}
			}
		}
	}
	h.mu.RUnlock()
	if consoles == 0 {
		return false
	}
	out := renderBatch(context.Background(), reads, v, items, func(t string) bool { return topics[t] }, st)
	type key struct {
		topic string
		role  int
	}
	msgs := map[key][]byte{}
	for _, t := range out.order {
		msgs[key{t, roleViewer}] = out.encode(t, roleViewer)
		msgs[key{t, roleAdmin}] = out.encode(t, roleAdmin)
	}
	var att []byte
	if out.attention != nil {
		att, _ = json.Marshal(out.attention)
	}
	// Consoles showing the same topics in the same role get the same
	// message: joined once (one JSON object a line, as static/app.js
	// reads it) and framed once for all of them.
	type set struct {
		topics string
		role   int
	}
	joined := map[set]frame{}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if !c.console {
			continue
		}
		role := roleViewer
		if c.admin {
			role = roleAdmin
		}
		k := set{c.topicKey, role}
		f, ok := joined[k]
		if !ok {
			var b []byte
			for _, t := range c.topics {
				if m := msgs[key{t, role}]; m != nil {
					if len(b) > 0 {
						b = append(b, '\n')
					}
					b = append(b, m...)
				}
			}
			if att != nil {
				if len(b) > 0 {
					b = append(b, '\n')
				}
				b = append(b, att...)
			}
			if len(b) > 0 {
				f = prepared(out.seq, b)
			}
			joined[k] = f
		}
		if f.data != nil {
			h.deliver(c, []frame{f})
		}
	}
	return out.stats
}

// SubscribeConsole adds a console showing topics (see ValidTopic).
func (h *Hub) SubscribeConsole(identity string, admin bool, topics []string) *Client {
	return h.add(&Client{identity: identity, console: true, admin: admin, topics: topics, topicKey: strings.Join(topics, ",")})
}
