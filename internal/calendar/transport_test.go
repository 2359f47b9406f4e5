package calendar_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar"
)

func TestWaitingTransportRunsTheHookWhileTheAnswerIsLate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(350 * time.Millisecond)
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: calendar.WaitingTransport(nil, 50*time.Millisecond)}
	var calls atomic.Int32
	ctx := calendar.ContextWithWaitHook(context.Background(), func() { calls.Add(1) })
	get := func(ctx context.Context, path string) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	get(ctx, "/slow")
	n := calls.Load()
	if n < 4 || n > 8 {
		t.Errorf("hook ran %d times during a 350 ms answer at 50 ms intervals, want about 7", n)
	}
	time.Sleep(120 * time.Millisecond)
	if calls.Load() != n {
		t.Errorf("hook ran after the answer came: %d, then %d", n, calls.Load())
	}
	get(context.Background(), "/slow") // no hook: nothing to run
	c.Transport = calendar.WaitingTransport(nil, 500*time.Millisecond)
	get(ctx, "/fast")
	if calls.Load() != n {
		t.Errorf("hook ran %d more times for a prompt answer or a context without one", calls.Load()-n)
	}
}
