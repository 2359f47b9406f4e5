package caldav

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/openmms/mms/internal/calendar"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
)

// zones are the VTIMEZONE components of one iCalendar object by TZID. RFC
// 5545 §3.2.19: a TZID parameter names the VTIMEZONE of the same object,
// which defines the offsets. Outlook writes Windows names ("Pacific
// Standard Time") that only their VTIMEZONE (or the CLDR table) explains;
// go-ical parses VTIMEZONE but does not interpret it.
type zones map[string]*ical.Component

// zonesOf collects the VTIMEZONEs of a parsed object.
func zonesOf(d *icaledit.Doc) zones {
	z := zones{}
	var tz, obs *ical.Component
	for _, l := range d.Lines {
		v := strings.ToUpper(strings.TrimSpace(l.Value))
		switch {
		case l.Name == "BEGIN" && v == ical.CompTimezone:
			tz = ical.NewComponent(ical.CompTimezone)
		case tz == nil:
		case l.Name == "BEGIN" && (v == ical.CompTimezoneStandard || v == ical.CompTimezoneDaylight):
			obs = ical.NewComponent(v)
		case l.Name == "END" && obs != nil:
			tz.Children = append(tz.Children, obs)
			obs = nil
		case l.Name == "END" && v == ical.CompTimezone:
			if id := tz.Props.Get(ical.PropTimezoneID); id != nil {
				z[strings.TrimSpace(id.Value)] = tz
			}
			tz = nil
		case l.Name == "BEGIN" || l.Name == "END":
		case obs != nil:
			obs.Props.Add(&ical.Prop{Name: l.Name, Params: parseParams(l.Params), Value: l.Value})
		default:
			tz.Props.Add(&ical.Prop{Name: l.Name, Params: parseParams(l.Params), Value: l.Value})
		}
	}
	return z
}

// location resolves a TZID: the object's own VTIMEZONE first, then IANA
// and Windows names (calendar.LoadLocation). Never UTC by default: a
// meeting read at the wrong instant is dropped as past or moved silently.
func (z zones) location(tzid string) (*time.Location, error) {
	tzid = strings.TrimSpace(tzid)
	var defErr error
	if c := z[tzid]; c != nil {
		loc, err := vtimezoneLocation(tzid, c)
		if err == nil {
			return loc, nil
		}
		defErr = err
	}
	loc, err := calendar.LoadLocation(tzid)
	if err != nil {
		if defErr != nil {
			return nil, fmt.Errorf("TZID %q: its VTIMEZONE is unusable (%v) and %v", tzid, defErr, err)
		}
		return nil, fmt.Errorf("TZID %q: the object has no VTIMEZONE for it and %v", tzid, err)
	}
	return loc, nil
}

// vtzCache keeps the locations built from VTIMEZONE texts: a calendar
// repeats the same few definitions in every resource, and expanding their
// yearly rules is the expensive part.
var vtzCache sync.Map // string -> *time.Location

// rulesUntil bounds the expansion of an observance's RRULE; later instants
// keep the last offset, as zoneinfo does past its last transition.
var rulesUntil = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// rulesFrom is the first year of the onsets expanded for a yearly rule
// that starts earlier; earlier instants keep its first offset.
const rulesFrom = 1970

type onset struct {
	at    int64 // Unix seconds
	off   int   // seconds east of UTC from then on (TZOFFSETTO)
	dst   bool
	abbr  string
	from  int // TZOFFSETFROM, the offset before the first onset
	order int
}

// vtimezoneLocation turns a VTIMEZONE into a *time.Location: every onset of
// every STANDARD and DAYLIGHT observance (DTSTART, RRULE and RDATE, all
// local times in the observance's TZOFFSETFROM, RFC 5545 §3.6.5) becomes a
// transition of a zoneinfo (TZif) table, which the time package reads; so
// parsing, formatting and RRULE expansion of the event all use the
// definition the organizer's client wrote.
func vtimezoneLocation(tzid string, c *ical.Component) (*time.Location, error) {
	var key strings.Builder
	for _, o := range c.Children {
		key.WriteString(o.Name + "\n")
		for _, name := range slices.Sorted(maps.Keys(o.Props)) {
			for _, p := range o.Props[name] {
				key.WriteString(name + ":" + p.Value + "\n")
			}
		}
	}
	cacheKey := tzid + "\x00" + key.String()
	if loc, ok := vtzCache.Load(cacheKey); ok {
		return loc.(*time.Location), nil
	}
	var ons []onset
	for i, o := range c.Children {
		from, err1 := utcOffset(o.Props.Get(ical.PropTimezoneOffsetFrom))
		to, err2 := utcOffset(o.Props.Get(ical.PropTimezoneOffsetTo))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: TZOFFSETFROM/TZOFFSETTO: %v", o.Name, errors.Join(err1, err2))
		}
		sp := o.Props.Get(ical.PropDateTimeStart)
		if sp == nil {
			return nil, fmt.Errorf("%s: no DTSTART", o.Name)
		}
		// Local wall times, held as UTC values until shifted by "from".
		start, err := time.ParseInLocation("20060102T150405", strings.TrimSpace(sp.Value), time.UTC)
		if err != nil {
			return nil, fmt.Errorf("%s: DTSTART: %v", o.Name, err)
		}
		walls := []time.Time{start}
		if rp := o.Props.Get(ical.PropRecurrenceRule); rp != nil {
			opt, err := rrule.StrToROption(rp.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: RRULE: %v", o.Name, err)
			}
			if !opt.Until.IsZero() {
				// UNTIL is UTC (§3.3.10); the wall times are local.
				opt.Until = opt.Until.Add(time.Duration(from) * time.Second)
			}
			opt.Dtstart = start
			if opt.Freq == rrule.YEARLY && opt.Interval <= 1 && opt.Count == 0 && start.Year() < rulesFrom {
				// rrule-go gives up after a few hundred years of
				// iterations, short of today from Outlook's 1601: a
				// yearly rule without COUNT has the same onsets after
				// any later start in the same month and day.
				opt.Dtstart = start.AddDate(rulesFrom-start.Year(), 0, 0)
			}
			r, err := rrule.NewRRule(*opt)
			if err != nil {
				return nil, fmt.Errorf("%s: RRULE: %v", o.Name, err)
			}
			// DTSTART is the first onset; rrule-go lists it only when
			// it matches the rule (Outlook's 16010101 does not), and it
			// lies centuries before any meeting anyway.
			walls = append(walls, r.Between(opt.Dtstart, rulesUntil, true)...)
		}
		for _, rd := range o.Props.Values(ical.PropRecurrenceDates) {
			for _, v := range strings.Split(rd.Value, ",") {
				if t, err := time.ParseInLocation("20060102T150405", strings.TrimSpace(v), time.UTC); err == nil {
					walls = append(walls, t)
				}
			}
		}
		abbr := ""
		if n := o.Props.Get(ical.PropTimezoneName); n != nil {
			abbr = n.Value
		}
		if abbr == "" {
			abbr = formatOffset(to)
		}
		for _, w := range walls {
			ons = append(ons, onset{at: w.Unix() - int64(from), off: to, from: from,
				dst: o.Name == ical.CompTimezoneDaylight, abbr: abbr, order: i})
		}
	}
	if len(ons) == 0 {
		return nil, fmt.Errorf("no STANDARD or DAYLIGHT observance")
	}
	slices.SortStableFunc(ons, func(a, b onset) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.order, b.order))
	})
	loc, err := time.LoadLocationFromTZData(tzid, tzif(ons))
	if err != nil {
		return nil, err
	}
	vtzCache.Store(cacheKey, loc)
	return loc, nil
}

// tzif writes a version 2 zoneinfo table (RFC 8536) with the onsets as
// transitions; the zone before the first onset is its TZOFFSETFROM.
func tzif(ons []onset) []byte {
	type ztype struct {
		off  int
		dst  bool
		abbr string
	}
	types := []ztype{{off: ons[0].from, abbr: formatOffset(ons[0].from)}}
	index := func(t ztype) byte {
		for i := 1; i < len(types); i++ {
			if types[i] == t {
				return byte(i)
			}
		}
		types = append(types, t)
		return byte(len(types) - 1)
	}
	var times []int64
	var idx []byte
	for _, o := range ons {
		i := index(ztype{o.off, o.dst, o.abbr})
		if n := len(times); n > 0 && times[n-1] == o.at {
			idx[n-1] = i // two observances starting at once: the later wins
			continue
		}
		times, idx = append(times, o.at), append(idx, i)
	}
	var chars []byte
	abbrIdx := make([]byte, len(types))
	for i, t := range types {
		abbrIdx[i] = byte(len(chars))
		chars = append(append(chars, t.abbr...), 0)
	}
	b := []byte("TZif2")
	b = append(b, make([]byte, 15)...)
	b = append(b, make([]byte, 24)...) // empty version 1 block
	b = append(b, "TZif2"...)
	b = append(b, make([]byte, 15)...)
	for _, n := range []int{0, 0, 0, len(times), len(types), len(chars)} {
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	for _, t := range times {
		b = binary.BigEndian.AppendUint64(b, uint64(t))
	}
	b = append(b, idx...)
	for i, t := range types {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(t.off)))
		dst := byte(0)
		if t.dst {
			dst = 1
		}
		b = append(b, dst, abbrIdx[i])
	}
	b = append(b, chars...)
	return b
}

// utcOffset parses a UTC-OFFSET value (±HHMM or ±HHMMSS) into seconds.
func utcOffset(p *ical.Prop) (int, error) {
	if p == nil {
		return 0, fmt.Errorf("missing")
	}
	v := strings.TrimSpace(p.Value)
	if len(v) != 5 && len(v) != 7 || (v[0] != '+' && v[0] != '-') {
		return 0, fmt.Errorf("malformed offset %q", v)
	}
	n := 0
	for i, unit := range []int{3600, 60, 1} {
		if 1+2*i >= len(v) {
			break
		}
		d, err := strconv.Atoi(v[1+2*i : 3+2*i])
		if err != nil {
			return 0, fmt.Errorf("malformed offset %q", v)
		}
		n += d * unit
	}
	if v[0] == '-' {
		n = -n
	}
	return n, nil
}

func formatOffset(s int) string {
	sign := '+'
	if s < 0 {
		sign, s = '-', -s
	}
	return fmt.Sprintf("%c%02d%02d", sign, s/3600, s/60%60)
}
