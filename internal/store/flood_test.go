package store

import (
	"context"
	"sync"
	"testing"

	"github.com/openmms/mms/internal/store/storetest"
)

// Workers reserving at once never grant more than a budget between them,
// and a refused reservation takes nothing (issue 21).
func TestReserveNeverExceedsTheBudget(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) { testReserveNeverExceedsTheBudget(t, open(t, dsn)) })
}

func testReserveNeverExceedsTheBudget(t *testing.T, db *DB) {
	ctx := context.Background()
	const limit, workers, each = 100, 8, 30
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				refused, err := db.Reserve(ctx, "t", []Claim{
					{Counter: "notifications", Period: 1000, Limit: limit, Amount: 3},
					{Counter: "meetings:u" + string(rune('a'+w)), Period: 1000, Limit: 1000, Amount: 1},
				})
				if err != nil {
					t.Error(err)
					return
				}
				if refused < 0 {
					mu.Lock()
					granted += 3
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	used, err := db.Used(ctx, "t", "notifications", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if used != int64(granted) || used > limit || used < limit-2 {
		t.Fatalf("used %d, granted %d, limit %d", used, granted, limit)
	}
	// All or nothing: the second claim is refused, so the first is not taken.
	refused, err := db.Reserve(ctx, "t", []Claim{{Counter: "x", Period: 1, Limit: 10, Amount: 5},
		{Counter: "notifications", Period: 1000, Limit: limit, Amount: limit}})
	if err != nil || refused != 1 {
		t.Fatalf("refused %d, %v", refused, err)
	}
	if x, _ := db.Used(ctx, "t", "x", 1); x != 0 {
		t.Fatalf("a refused reservation took %d", x)
	}
	// Another period starts afresh; old periods can be dropped.
	if refused, _ := db.Reserve(ctx, "t", []Claim{{Counter: "notifications", Period: 2000, Limit: limit, Amount: limit}}); refused != -1 {
		t.Fatal("a new period was refused")
	}
	if n, err := db.DeleteFloodCountersBefore(ctx, 2000); err != nil || n == 0 {
		t.Fatalf("deleted %d, %v", n, err)
	}
}
