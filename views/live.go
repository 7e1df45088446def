package views

import (
	"github.com/a-h/templ"

	"callhook/internal/voice"
)

// Live gives internal/live the pages' own components for the fragments it
// pushes (its Views), so a pushed row is the row a page load renders; the
// server runs its hub with Live{}. The methods take plain values: live
// depends on this set of components, not on the views package.
type Live struct{}

func (Live) CallRow(c voice.CallView, compact bool) templ.Component { return CallRow(c, compact) }

func (Live) CallbackRow(cb voice.CallbackView, compact bool) templ.Component {
	return CallbackRow(cb, compact)
}

func (Live) TimelineEntry(e voice.EventView, hasAlert bool) templ.Component {
	return TimelineEntry(e, hasAlert)
}

// AlertCard is the dashboard's card of an open alert.
func (Live) AlertCard(a voice.AlertView, admin bool) templ.Component {
	return AlertCard(a, AlertListProps{Admin: admin, Compact: true})
}

// AlertRow is the alerts page's row.
func (Live) AlertRow(a voice.AlertView, admin bool) templ.Component {
	return AlertRow(a, AlertListProps{Admin: admin})
}

func (Live) AlertDetail(a voice.AlertView, channelName, keypadPrompt string, admin bool) templ.Component {
	return AlertDetail(AlertProps{Alert: a, ChannelName: channelName, KeypadPrompt: keypadPrompt, Admin: admin})
}

func (Live) CallFacts(c voice.CallView, channelName, alertTitle, alertState string) templ.Component {
	return CallFacts(CallProps{Call: c, ChannelName: channelName, AlertTitle: alertTitle, AlertState: alertState})
}

func (Live) FailedSummary(as []voice.AlertView) templ.Component { return FailedSummary(as) }

// FailedSummaryID is the region the failed-calls summary is swapped into.
func (Live) FailedSummaryID() string { return FailedSummaryID }

func (Live) DashboardCounters(inProgress, firing, acknowledged, rejected, limit int) templ.Component {
	return DashboardCounters(DashboardCounts{InProgress: inProgress, Firing: firing, Acknowledged: acknowledged,
		Rejected: rejected, Cap: limit})
}

func (Live) StatsTable(rows []voice.Stat) templ.Component { return StatsTable(StatsProps{Rows: rows}) }
