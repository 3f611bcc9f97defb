package awsauth

import (
	"testing"
	"time"
)

// TestPacerTurns: a burst goes at once, then each call waits one interval
// more than the one before it; accounts do not share turns; idle time
// refills the bucket up to the burst only.
func TestPacerTurns(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewPacer(10, 2)
	p.now = func() time.Time { return now }
	turns := func(key string, n int) []time.Duration {
		var out []time.Duration
		for range n {
			w, _ := p.reserve(key)
			out = append(out, w.Round(time.Millisecond))
		}
		return out
	}
	want := []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	if got := turns("111111111111", 5); !equal(got, want) {
		t.Fatalf("first account: %v, want %v", got, want)
	}
	if got := turns("222222222222", 2); !equal(got, want[:2]) {
		t.Fatalf("another account waits for nobody: %v", got)
	}
	now = now.Add(time.Hour) // idle: the bucket holds the burst, not an hour of calls
	if got := turns("111111111111", 3); !equal(got, want[:3]) {
		t.Fatalf("after idling: %v, want %v", got, want[:3])
	}
	var unpaced *Pacer
	if unpaced.Rate() != 0 || NewPacer(0, 1).Wait(t.Context(), "x") != nil {
		t.Fatal("a nil or zero-rate pacer paces nothing")
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
