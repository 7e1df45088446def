package web

import (
	"encoding/csv"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"callhook/views"
)

func (s *Server) statsPage(c *fiber.Ctx) error {
	pg, err := s.livePage(c, "Stats", "stats")
	if err != nil {
		return err
	}
	st, err := s.Store.Stats(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.StatsPage(pg, views.StatsProps{Rows: st}))
}

func (s *Server) statsFragment(c *fiber.Ctx) error {
	st, err := s.Store.Stats(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.StatsTable(views.StatsProps{Rows: st}))
}

// statsCSV downloads the stats table as shown on /stats.
func (s *Server) statsCSV(c *fiber.Ctx) error {
	st, err := s.Store.Stats(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="callhook-stats.csv"`)
	w := csv.NewWriter(c)
	_ = w.Write([]string{"channel_id", "provider", "calls", "answered", "answered_rate", "total_duration_s", "mean_duration_s", "mean_mos"})
	for _, r := range st {
		_ = w.Write([]string{csvSafe(r.ChannelID), r.Provider, strconv.Itoa(r.Calls), strconv.Itoa(r.Answered),
			strconv.FormatFloat(r.AnsweredRate, 'f', 4, 64), strconv.FormatFloat(r.TotalDuration, 'f', -1, 64),
			optFloat(r.MeanDuration), optFloat(r.MeanMOS)})
	}
	w.Flush()
	return w.Error()
}
