package calendar

import (
	"testing"
	"time"
	_ "time/tzdata"
)

// Every CLDR target must load, and a Windows name must never fall back to UTC.
func TestLoadLocationWindowsNames(t *testing.T) {
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%s -> %s: %v", win, iana, err)
		}
	}
	at := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	for name, offset := range map[string]int{"Pacific Standard Time": -7, "w. europe standard time": 2,
		"Tokyo Standard Time": 9, "Europe/Berlin": 2, "UTC": 0} {
		loc, err := LoadLocation(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, off := at.In(loc).Zone(); off != offset*3600 {
			t.Errorf("%s: offset %d, want %dh", name, off, offset)
		}
	}
	for _, bad := range []string{"Customized Time Zone", "Local", "", "Mars/Olympus"} {
		if _, err := LoadLocation(bad); err == nil {
			t.Errorf("%q resolved", bad)
		}
	}
}
