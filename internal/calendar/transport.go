package calendar

import (
	"net/http"
	"time"
)

// WaitingTransport wraps next so that a request whose context carries a
// wait hook (ContextWithWaitHook) runs it every interval until the answer's
// headers arrive. An activity waiting on a slow back end is alive: without
// this, a back end slower than the heartbeat timeout gets the activity
// declared dead and run a second time beside itself, doubling the load on
// the very mailbox that is struggling. The HTTP client's own timeout still
// bounds each wait.
func WaitingTransport(next http.RoundTripper, every time.Duration) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return waitingTransport{next: next, every: every}
}

type waitingTransport struct {
	next  http.RoundTripper
	every time.Duration
}

func (w waitingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	hook, _ := r.Context().Value(waitHookKey{}).(func())
	if hook == nil {
		return w.next.RoundTrip(r)
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(w.every)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				hook()
			case <-stop:
				return
			}
		}
	}()
	resp, err := w.next.RoundTrip(r)
	close(stop)
	<-stopped // no hook call outlives the request
	return resp, err
}
