package web

import (
	"context"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/channel"
	"callhook/internal/store"
	"callhook/internal/voice"
	"callhook/views"
)

// maxDTMFRows bounds the rows the mapping editor accepts.
const maxDTMFRows = 100

// channelDTMF saves the keypad mapping editor (op=save) or re-renders it
// with one more row (op=add); rows ticked "Remove" are dropped either way.
// A mapping without an acknowledge key is saved only on a second submit
// carrying confirm_no_ack=1.
func (s *Server) channelDTMF(c *fiber.Ctx) error {
	rows := postedDTMFRows(c)
	if formText(c, "op") == "add" {
		if len(rows) < maxDTMFRows {
			rows = append(rows, views.DTMFRow{Action: string(voice.ActionAcknowledge)})
		}
		return s.channelForm(c, fiber.StatusOK, func(p *views.ChannelProps) {
			p.DTMF = views.DTMFEditor{Rows: rows, Unsaved: true}
		})
	}
	mapping, rows, ok := checkDTMFRows(rows)
	if !ok {
		return s.dtmfProblem(c, rows, "Not saved: fix the marked rows.")
	}
	if !hasAcknowledge(mapping) && formText(c, "confirm_no_ack") == "" {
		// Without a key that acknowledges, nobody can stop the calls by
		// phone: saving takes a second, explicit submit (confirm_no_ack=1).
		return s.channelForm(c, fiber.StatusOK, func(p *views.ChannelProps) {
			p.DTMF = views.DTMFEditor{Rows: rows, Unsaved: true, ConfirmNoAck: true,
				Warning: "Not saved yet: this mapping has no key that acknowledges, so nobody can acknowledge an alert by phone on this channel (only resolve it, or nothing). Press “Save without an acknowledge key” to save it anyway, or add a row mapping a key to acknowledge."}
		})
	}
	ch, err := s.Channels.Update(c.UserContext(), pathParam(c, "id"), channel.Input{DTMFMap: &mapping})
	if msg, ok := formProblem(err); ok {
		return s.dtmfProblem(c, rows, "Not saved: "+dtmfMessage(msg))
	}
	if err != nil {
		return err
	}
	s.Log.Info("channel keypad mapping changed", "channel", ch.ID, "by", who(c))
	return s.redirectFlash(c, "/channels/"+ch.ID+"#dtmf", "success", "Keypad mapping saved: "+dtmfSummary(ch.DTMFMap)+".")
}

// channelDTMFReset restores the default mapping (1 acknowledges, 2 resolves).
func (s *Server) channelDTMFReset(c *fiber.Ctx) error {
	def := map[string]string{}
	for k, a := range voice.DefaultDTMFMap() {
		def[k] = string(a)
	}
	ch, err := s.Channels.Update(c.UserContext(), pathParam(c, "id"), channel.Input{DTMFMap: &def})
	if err != nil {
		return err
	}
	s.Log.Info("channel keypad mapping reset", "channel", ch.ID, "by", who(c))
	return s.redirectFlash(c, "/channels/"+ch.ID+"#dtmf", "success", "Keypad mapping reset to the default: "+dtmfSummary(ch.DTMFMap)+".")
}

func (s *Server) dtmfProblem(c *fiber.Ctx, rows []views.DTMFRow, msg string) error {
	return s.channelForm(c, fiber.StatusBadRequest, func(p *views.ChannelProps) {
		p.DTMF = views.DTMFEditor{Rows: rows, Error: msg, Unsaved: true}
	})
}

// postedDTMFRows reads the editor's rows (digits_N, action_N, remove_N),
// leaving out the ones ticked for removal.
func postedDTMFRows(c *fiber.Ctx) []views.DTMFRow {
	n, _ := strconv.Atoi(formText(c, "rows"))
	n = min(max(n, 0), maxDTMFRows)
	rows := make([]views.DTMFRow, 0, n)
	for i := range n {
		k := strconv.Itoa(i)
		if formText(c, "remove_"+k) != "" {
			continue
		}
		rows = append(rows, views.DTMFRow{Digits: formText(c, "digits_"+k), Action: formText(c, "action_"+k)})
	}
	return rows
}

// checkDTMFRows validates each row with channel.ValidateDTMF and finds
// duplicates, marking the rows at fault. Rows without digits are ignored.
// It returns the mapping and whether every row is valid.
func checkDTMFRows(rows []views.DTMFRow) (map[string]string, []views.DTMFRow, bool) {
	mapping := map[string]string{}
	first := map[string]int{}
	ok := true
	for i := range rows {
		r := &rows[i]
		if r.Digits == "" {
			continue
		}
		norm, err := channel.ValidateDTMF(map[string]string{r.Digits: r.Action})
		switch {
		case err != nil:
			_, msg := statusOf(err)
			r.Error = dtmfMessage(msg)
		case first[r.Digits] > 0:
			r.Error = "Already mapped in row " + strconv.Itoa(first[r.Digits]) + "; each key sequence may appear once."
		default:
			first[r.Digits] = i + 1
			mapping[r.Digits] = norm[r.Digits]
			r.Action = norm[r.Digits]
			continue
		}
		ok = false
	}
	if !ok {
		return nil, rows, false
	}
	if _, err := channel.ValidateDTMF(mapping); err != nil {
		return nil, rows, false
	}
	return mapping, rows, true
}

// dtmfMessage words a mapping validation error for the editor.
func dtmfMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "dtmf_map: ")
	msg = strings.TrimPrefix(msg, voice.ErrInvalidDTMFMap.Error()+": ")
	return upperFirst(msg)
}

// keypadPrompt is what a channel's calls tell the callee to press, worded
// by voice.DTMFMap.Prompt from the mapping the pipeline applies (the default
// when the channel has none), so the console and the phone say the same.
func keypadPrompt(ch *store.Channel) string {
	return store.ChannelDTMF(ch).Prompt()
}

// keypadPrompts words the keypad of every channel for the alerts page: one
// prompt when all channels agree, else one "name: prompt" per channel.
func (s *Server) keypadPrompts(ctx context.Context) ([]string, error) {
	chs, err := s.Store.Channels(ctx)
	if err != nil {
		return nil, err
	}
	if len(chs) == 0 {
		return []string{keypadPrompt(nil)}, nil
	}
	var out []string
	same := true
	for i := range chs {
		p := keypadPrompt(&chs[i])
		same = same && p == keypadPrompt(&chs[0])
		out = append(out, chs[i].Name+": "+p)
	}
	if same {
		return []string{keypadPrompt(&chs[0])}, nil
	}
	return out, nil
}

// hasAcknowledge reports whether mapping m, as the pipeline applies it
// (empty means the default), lets a callee acknowledge.
func hasAcknowledge(m map[string]string) bool {
	for _, a := range store.ChannelDTMF(&store.Channel{DTMFMap: m}) {
		if a == voice.ActionAcknowledge {
			return true
		}
	}
	return false
}

// testNote says what a test callback's keypad event did, or what it would
// do on a real call: the test call has no alert, so a mapped key changes
// nothing and the note names the action the mapping took.
func testNote(e ReplayEvent) string {
	switch {
	case e.EventType != string(voice.EventDTMF):
		return ""
	case !e.Matched:
		return "The call is not known: stored unmatched, no action taken."
	case e.Action == "":
		return "Key " + e.Digit + " is not mapped: a real call's alert would not change."
	case e.Applied:
		return "The call's alert was " + pastTense(e.Action) + "."
	}
	return "Would " + e.Action + " the call's alert. The test call has no alert, so no alert changed."
}

func pastTense(action string) string {
	if action == string(voice.ActionAcknowledge) {
		return "acknowledged"
	}
	return action + "d"
}

// testKeys are the choices of "Send test callback": the keys of the
// mapping the pipeline applies, with their actions.
func testKeys(ch *store.Channel) []views.DTMFRow {
	m := map[string]string{}
	for k, a := range store.ChannelDTMF(ch) {
		m[k] = string(a)
	}
	return dtmfRows(m)
}

// recentKeypad is how many keypad events the channel page lists.
const recentKeypad = 20

// keypadRows are the channel's newest keypad events for its page.
func (s *Server) keypadRows(ctx context.Context, channelID string) ([]views.KeypadRow, error) {
	acts, err := s.Store.KeypadActions(ctx, channelID, recentKeypad)
	if err != nil {
		return nil, err
	}
	rows := make([]views.KeypadRow, 0, len(acts))
	for _, a := range acts {
		r := views.KeypadRow{Digit: a.Digit, Action: a.Action, Applied: a.Applied, CallID: a.CallID, AlertID: a.AlertID,
			At: consoleTime(a.ReceivedAt)}
		switch {
		case a.CallID == nil:
			r.Result = "call unknown (stored unmatched)"
		case a.Action == "":
			r.Result = "not mapped: nothing done"
		case a.Applied:
			r.Result = "applied: alert " + pastTense(a.Action)
		case a.AlertID == nil:
			r.Result = "not applied: the call has no alert"
		default:
			r.Result = "not applied: the alert was already " + pastTense(a.Action) + " or past it"
		}
		rows = append(rows, r)
	}
	return rows, nil
}
