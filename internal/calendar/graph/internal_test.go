package graph

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	until, ok := retryAfter(http.Header{"Retry-After": {"7"}}, now)
	require.True(t, ok)
	assert.Equal(t, now.Add(7*time.Second), until)
	until, ok = retryAfter(http.Header{"Retry-After": {"Mon, 23 Nov 2026 10:00:30 GMT"}}, now)
	require.True(t, ok)
	assert.Equal(t, now.Add(30*time.Second), until)
	_, ok = retryAfter(http.Header{}, now)
	assert.False(t, ok)
	_, ok = retryAfter(http.Header{"Retry-After": {"soon"}}, now)
	assert.False(t, ok)
}

func TestCursorRoundTrip(t *testing.T) {
	c := &cursor{Next: "https://graph.microsoft.com/v1.0/users/a/calendarView?$skip=50"}
	for _, id := range []string{"AAMkAGI2TG93AAA=", "AAMkAGI2TG93AAB=", "AAMkAGI2TG93AAC="} {
		c.add(id)
	}
	d, err := decodeCursor(c.encode())
	require.NoError(t, err)
	assert.Equal(t, c.Next, d.Next)
	assert.True(t, d.has("AAMkAGI2TG93AAB="))
	assert.False(t, d.has("AAMkAGI2TG93AAD="))
	for i := range 100 {
		c.add(fmt.Sprintf("AAMkAGI2TG93-master-%03d-with-a-long-exchange-item-id-of-about-150-characters", i))
	}
	grew := len(c.encode()) - len((&cursor{Next: c.Next}).encode())
	assert.LessOrEqual(t, grew, 103*15, "about 8 bytes (15 characters once encoded) per master")
	_, err = decodeCursor("%%%")
	assert.Error(t, err)
}

func TestRRule(t *testing.T) {
	var r recurrence
	r.Pattern.Type, r.Pattern.Interval, r.Pattern.DaysOfWeek, r.Pattern.Index = "relativeMonthly", 1, []string{"Tuesday"}, "last"
	r.Range.Type = "noEnd"
	s, end := r.rrule()
	assert.Equal(t, "FREQ=MONTHLY;BYDAY=-1TU", s)
	assert.True(t, end.IsZero())
}
