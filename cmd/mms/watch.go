package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// watchRetryFor is how long a watch keeps retrying a failing API before
// giving up with exit status 2.
var watchRetryFor = 30 * time.Second

// rateWindow is the span of samples the rate and the ETA are computed from.
const rateWindow = 10 * time.Second

// watcher polls one user's record and shows its progress.
type watcher struct {
	af       *apiFlags
	path     string // the record's route, ?meetings=false included
	interval time.Duration
	out      io.Writer // progress
	errOut   io.Writer // retry notices
	tty      bool      // redraw one line instead of printing changes

	samples []sample
	last    string // what was last printed (non-TTY: the state that made it)
	drawn   bool   // a TTY line is on screen
}

type sample struct {
	at        time.Time
	processed int
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run polls until the record is final and returns it. A transient API error
// is retried for watchRetryFor; a refusal ends at once; a cancelled ctx
// returns ctx.Err().
func (w *watcher) run(ctx context.Context) (api.MigrationDetail, error) {
	var failingSince time.Time
	var lastErr string
	for {
		var d api.MigrationDetail
		err := w.af.callContext(ctx, http.MethodGet, w.path, nil, &d)
		switch {
		case ctx.Err() != nil:
			w.endLine()
			return d, ctx.Err()
		case err != nil && transient(err):
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if time.Since(failingSince) >= watchRetryFor {
				w.endLine()
				return d, exitError{code: 2, err: fmt.Errorf("gave up after %s: %w", watchRetryFor, err)}
			}
			if err.Error() != lastErr { // once per kind of error, not per poll
				lastErr = err.Error()
				w.endLine()
				fmt.Fprintf(w.errOut, "mms: %v; retrying for up to %s\n", err, watchRetryFor)
			}
		case err != nil:
			w.endLine()
			return d, err
		default:
			if !failingSince.IsZero() {
				w.endLine()
				fmt.Fprintf(w.errOut, "mms: the API answers again after %s\n", time.Since(failingSince).Round(time.Second))
				failingSince, lastErr = time.Time{}, ""
			}
			w.show(time.Now(), d.StatusRecord)
			if d.State == migration.StateSucceeded || d.State == migration.StateFailed {
				w.endLine()
				return d, nil
			}
		}
		t := time.NewTimer(w.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			w.endLine()
			return d, ctx.Err()
		case <-t.C:
		}
	}
}

// show draws the record's progress: on a terminal always (the rate and ETA
// move), elsewhere only when the state or the counts changed.
func (w *watcher) show(now time.Time, m store.StatusRecord) {
	if m.State == migration.StateInProgress {
		w.samples = append(w.samples, sample{now, m.ProcessedMeeting})
		for len(w.samples) > 2 && now.Sub(w.samples[1].at) >= rateWindow {
			w.samples = w.samples[1:]
		}
	}
	line := progressLine(m, w.rate())
	if w.tty {
		fmt.Fprint(w.out, "\r\x1b[2K"+line)
		w.drawn = true
		return
	}
	key := fmt.Sprintf("%s %d/%d %s", m.State, m.ProcessedMeeting, m.ExpectedMeeting, m.CorrelationID)
	if key == w.last {
		return
	}
	w.last = key
	fmt.Fprintln(w.out, line)
}

// endLine finishes a redrawn terminal line.
func (w *watcher) endLine() {
	if w.tty && w.drawn {
		fmt.Fprintln(w.out)
		w.drawn = false
	}
}

// rate is meetings per second over the samples' window; -1 when unknown.
func (w *watcher) rate() float64 {
	if len(w.samples) < 2 {
		return -1
	}
	first, last := w.samples[0], w.samples[len(w.samples)-1]
	secs := last.at.Sub(first.at).Seconds()
	if secs <= 0 {
		return -1
	}
	return float64(last.processed-first.processed) / secs
}

const barWidth = 24

// progressLine renders one record: state, bar, processed/expected, percent,
// rate and ETA; processed and rate only when the back end could not count.
func progressLine(m store.StatusRecord, rate float64) string {
	switch m.State {
	case migration.StatePending:
		return "Pending     waiting (quiet period or queued)"
	case migration.StateSucceeded, migration.StateFailed:
		if m.ExpectedMeeting > 0 {
			return fmt.Sprintf("%-11s %s %d/%d meetings", m.State, bar(m.ProcessedMeeting, m.ExpectedMeeting),
				m.ProcessedMeeting, m.ExpectedMeeting)
		}
		return fmt.Sprintf("%-11s %d meetings processed", m.State, m.ProcessedMeeting)
	}
	rateText := "-/s"
	if rate >= 0 {
		rateText = fmt.Sprintf("%.1f/s", rate)
	}
	if m.ExpectedMeeting <= 0 {
		return fmt.Sprintf("%-11s %d meetings processed  %s", m.State, m.ProcessedMeeting, rateText)
	}
	pct := 100 * float64(m.ProcessedMeeting) / float64(m.ExpectedMeeting)
	eta := "ETA -"
	if left := m.ExpectedMeeting - m.ProcessedMeeting; rate > 0 && left > 0 {
		if d := time.Duration(float64(left) / rate * float64(time.Second)); d < time.Second {
			eta = "ETA <1s"
		} else {
			eta = "ETA " + d.Round(time.Second).String()
		}
	} else if left <= 0 {
		eta = "ETA 0s"
	}
	return fmt.Sprintf("%-11s %s %d/%d meetings  %3.0f%%  %s  %s", m.State, bar(m.ProcessedMeeting, m.ExpectedMeeting),
		m.ProcessedMeeting, m.ExpectedMeeting, pct, rateText, eta)
}

func bar(done, total int) string {
	n := 0
	if total > 0 {
		n = min(barWidth, max(0, done*barWidth/total))
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", barWidth-n) + "]"
}

// printCounters prints a final record's key counters.
func printCounters(w io.Writer, m store.StatusRecord) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"UserId", m.UserID}, {"State", string(m.State)},
		{"TotalMeeting", fmt.Sprint(m.TotalMeeting)}, {"SucceededMeeting", fmt.Sprint(m.SucceededMeeting)},
		{"FailedMeeting", fmt.Sprint(m.FailedMeeting)}, {"SkippedMeeting", fmt.Sprint(m.SkippedMeeting)},
		{"InvitesUpdate", fmt.Sprint(m.InvitesUpdate)}, {"LastMessage", m.LastMessage},
		{"CorrelationId", m.CorrelationID},
	} {
		fmt.Fprintf(tw, "%s\t: %s\n", kv[0], esc(kv[1]))
	}
	return tw.Flush()
}

// watchResult turns a finished watch into the command's outcome: exit 4
// for a failed migration, 130 when interrupted.
func watchResult(d api.MigrationDetail, err error, errOut io.Writer) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintln(errOut, "mms: stopped watching; the migration itself goes on")
		return exitError{code: 130, err: errSilent}
	}
	if err != nil {
		return err
	}
	if d.State == migration.StateFailed {
		msg := "migration of " + esc(d.UserID) + " failed"
		if d.LastMessage != "" {
			msg += ": " + esc(d.LastMessage)
		}
		return exitError{code: 4, err: errors.New(msg)}
	}
	return nil
}
