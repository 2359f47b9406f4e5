package retention

import (
	"testing"
	"time"

	"github.com/openmms/mms/internal/store"
)

func TestFromEnv(t *testing.T) {
	for raw, want := range map[string]time.Duration{"": store.DefaultRetention, "30": 30 * 24 * time.Hour, "0": -1, "abc": -1, "4000": -1} {
		t.Setenv("MMS_RETENTION_DAYS", raw)
		got, err := FromEnv()
		if want < 0 {
			if err == nil {
				t.Errorf("%q: accepted as %s", raw, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %s, %v; want %s", raw, got, err, want)
		}
	}
}
