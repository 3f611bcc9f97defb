package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/testenv"
)

// crashReq is what the crash test reads of a request.
type crashReq struct {
	ID        string     `json:"id"`
	State     string     `json:"state"`
	Requester string     `json:"requester"`
	Target    string     `json:"target"`
	Deadline  *time.Time `json:"deadline"`
	EndedAt   *time.Time `json:"ended_at"`
	GrantedAt *time.Time `json:"granted_at"`
}

type downtime struct{ from, to time.Time }

// removalBound is the latest a removal due at deadline may land: a second
// after it, pushed back by every stretch of downtime from the deadline on.
// downs must be sorted and must not overlap (merge).
func removalBound(deadline time.Time, downs []downtime) time.Time {
	end := deadline.Add(time.Second)
	for _, d := range downs {
		if d.from.Before(end) && d.to.After(deadline) {
			end = end.Add(d.to.Sub(maxTime(d.from, deadline)))
		}
	}
	return end
}

// merge sorts stretches of time and joins those that overlap.
func merge(ds []downtime) []downtime {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b downtime) int { return a.from.Compare(b.from) })
	var out []downtime
	for _, d := range ds {
		if n := len(out); n > 0 && !d.from.After(out[n-1].to) {
			out[n-1].to = maxTime(out[n-1].to, d.to)
			continue
		}
		out = append(out, d)
	}
	return out
}

// stallProbe watches, from the test's side, whether the machine lets the
// server work: every 100 ms it times one round of what a removal waits on
// (the server answering /healthz, moto answering an IAM read, an fsync on
// the database's disk). A round slower than stallAfter is a stall: the
// server could not act faster than the machine let it, so the stall counts
// as downtime. On a machine with room to spare no round is that slow and
// the bound is deadline + kill downtime + 1 s; on a machine busy with other
// test runs the bound grows by exactly the stalls observed, and they are
// printed with any late removal.
type stallProbe struct {
	mu     sync.Mutex
	stalls []downtime
	rounds int
	done   chan struct{}
}

const stallAfter = 250 * time.Millisecond

func startStallProbe(t *testing.T, serverURL string, m *testenv.Moto, dir, iamUser string, stop <-chan struct{}) *stallProbe {
	sp := &stallProbe{done: make(chan struct{})}
	hc := &http.Client{Timeout: 5 * time.Second}
	ic := iam.NewFromConfig(m.AWSConfig(t))
	probeFile := filepath.Join(dir, "probe")
	go func() {
		defer close(sp.done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			from := time.Now()
			if resp, err := hc.Get(serverURL + "/healthz"); err == nil {
				resp.Body.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = ic.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(iamUser)})
			cancel()
			if f, err := os.Create(probeFile); err == nil {
				_, _ = f.WriteString(from.String())
				_ = f.Sync()
				f.Close()
			}
			to := time.Now()
			sp.mu.Lock()
			sp.rounds++
			if to.Sub(from) > stallAfter {
				sp.stalls = append(sp.stalls, downtime{from, to})
			}
			sp.mu.Unlock()
		}
	}()
	return sp
}

// result stops waiting for the probe and answers its stalls and rounds.
func (sp *stallProbe) result() ([]downtime, int) {
	<-sp.done
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return slices.Clone(sp.stalls), sp.rounds
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestCrashAnywhere SIGKILLs `sym server` at random moments while users
// request, get approved, revoke and expire short grants, starts it again
// each time, and then checks what a security engineer would: after a
// restart and one reconcile, nobody is in a group without an open grant;
// every grant was removed within its deadline plus the downtime plus 1 s;
// and no request is left open without a timer (all end). Downtime is what
// the test saw: from each kill until the restarted server answered, and
// every stall of the machine its probe timed (stallProbe). 50 kills here;
// SYM_CRASH_RUNS=1000 for a long run.
func TestCrashAnywhere(t *testing.T) {
	kills := 50
	if v := os.Getenv("SYM_CRASH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SYM_CRASH_RUNS=%q is not a positive number", v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d kills", seed, kills)
	rng := rand.New(rand.NewPCG(seed, 42))
	var rngMu sync.Mutex
	rnd := func(n int) int { rngMu.Lock(); defer rngMu.Unlock(); return rng.IntN(n) }

	m := testenv.StartMoto(t)
	db := filepath.Join(t.TempDir(), "sym.db")
	port := testenv.FreePort(t)
	// moto is not IAM: pace at 100 calls/s so that the pacer is in the
	// path without being what the bounds measure.
	args := []string{"--verify-connectors=false", "--aws-rate-limit", "100"}
	p := testenv.StartSymProcess(t, db, port, m.Env(), args...)
	var emails []string
	for i := range 6 {
		emails = append(emails, fmt.Sprintf("u%d@example.com", i))
	}
	f := testenv.SetupIAMFlow(t, m, p.URL, p.AdminToken, testenv.IAMFlowOptions{Groups: 2, Users: emails,
		Vars: map[string]string{"request_timeout": "2s"}})
	ctx := context.Background()
	var downs []downtime
	var ops atomic.Int64
	probeStop := make(chan struct{})
	probe := startStallProbe(t, p.URL, m, filepath.Dir(db), "u0", probeStop)
	defer func() {
		select {
		case <-probeStop:
		default:
			close(probeStop)
		}
	}()

	// work runs users against the server until stop closes; errors are
	// expected (the server dies under them) and ignored.
	work := func(stop <-chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					i := (w*3 + rnd(3)) % len(emails)
					who, approver := f.Users[emails[i]], f.Users[emails[(i+1)%len(emails)]]
					var r crashReq
					dur := []string{"1s", "2s", "3s"}[rnd(3)]
					if err := who.Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
						"flow_inputs": map[string]any{"target_id": f.Targets[rnd(len(f.Targets))], "reason": "crash test", "duration": dur}}, &r); err != nil {
						continue
					}
					ops.Add(1)
					if rnd(10) == 0 {
						continue // left pending: it expires
					}
					if err := approver.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r); err != nil {
						continue
					}
					if rnd(3) == 0 {
						time.Sleep(time.Duration(rnd(300)) * time.Millisecond)
						_ = who.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, nil)
					}
				}
			}()
		}
		return &wg
	}

	for k := range kills {
		stop := make(chan struct{})
		wg := work(stop)
		// Up for 0.4 s to 1.6 s: a restart needs a few hundred ms on a busy
		// machine to finish what was overdue, and the bound below gives it
		// one second of uptime in all.
		time.Sleep(time.Duration(400+rnd(1200)) * time.Millisecond)
		killed := time.Now()
		p.Kill()
		close(stop)
		wg.Wait()
		if rnd(4) == 0 {
			time.Sleep(time.Duration(rnd(1500)) * time.Millisecond) // sometimes across deadlines
		}
		p = testenv.StartSymProcess(t, db, port, m.Env(), args...)
		downs = append(downs, downtime{killed, time.Now()})
		if k%20 == 19 {
			t.Logf("%d kills, %d requests so far", k+1, ops.Load())
		}
	}

	// The probe watches until every request has ended (below).

	// After the last restart and one reconcile: every member of a group
	// holds an open grant of it.
	admin := api.NewClient(p.URL, p.AdminToken)
	var rep struct {
		Actions []struct{ Action, Member, Group string }
		Errors  []string
	}
	if err := admin.Do(ctx, "POST", "/reconcile", nil, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("reconcile could not read: %v", rep.Errors)
	}
	for _, a := range rep.Actions {
		t.Logf("reconcile after the last restart: %s %s in %s", a.Action, a.Member, a.Group)
	}
	// The API lists at most store.MaxList requests: read them all from the
	// database (WAL: a reader beside the running server).
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list := func() []crashReq {
		t.Helper()
		rs, err := st.ListRequests(ctx, "", "", 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		var all []crashReq
		for _, r := range rs {
			all = append(all, crashReq{ID: r.ID, State: string(r.State), Requester: r.Requester, Target: r.Target,
				Deadline: r.Deadline, EndedAt: r.EndedAt, GrantedAt: r.GrantedAt})
		}
		return all
	}
	holders := map[string]bool{} // group + "/" + IAM user of open grants
	for _, r := range list() {
		if r.State == "approved" || r.State == "active" || r.State == "removing" {
			holders[r.Target+"/"+strings.TrimSuffix(r.Requester, "@example.com")] = true
		}
	}
	for _, g := range f.Groups {
		for _, u := range testenv.GroupMembers(t, m, g) {
			if !holders[g+"/"+u] {
				t.Errorf("%s is in %s with no open grant after restart and reconcile", u, g)
			}
		}
	}

	// Then every request ends, each removal within its bound.
	var all []crashReq
	limit := time.Now().Add(60 * time.Second)
	for {
		all = list()
		open := 0
		for _, r := range all {
			if !slices.Contains([]string{"ended", "errored", "denied", "expired", "withdrawn"}, r.State) {
				open++
			}
		}
		if open == 0 {
			break
		}
		if time.Now().After(limit) {
			for _, r := range all {
				if r.State == "pending" || r.State == "approved" || r.State == "active" || r.State == "removing" {
					t.Errorf("request %s stuck %s (deadline %v)", r.ID, r.State, r.Deadline)
				}
			}
			t.Fatalf("%d requests still open 60 s after the last restart", open)
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(probeStop)
	stalls, rounds := probe.result()
	var stalled time.Duration
	for _, d := range stalls {
		stalled += d.to.Sub(d.from)
	}
	t.Logf("machine stalls seen by the probe: %d of %d rounds slower than %s, %s in all", len(stalls), rounds, stallAfter, stalled.Round(time.Millisecond))
	killDowns := merge(downs)
	downs = merge(append(downs, stalls...))
	ended, neededStalls := 0, 0
	for _, r := range all {
		if r.State != "ended" || r.Deadline == nil || r.EndedAt == nil {
			continue
		}
		ended++
		if r.EndedAt.After(removalBound(*r.Deadline, killDowns)) {
			neededStalls++ // within its bound only because the machine stalled
		}
		if bound := removalBound(*r.Deadline, downs); r.EndedAt.After(bound) {
			t.Errorf("request %s (%s in %s): deadline %s, removed %s, %s after its bound (deadline + downtime + 1 s)",
				r.ID, r.Requester, r.Target, r.Deadline.Format("15:04:05.000"), r.EndedAt.Format("15:04:05.000"), r.EndedAt.Sub(bound))
			var evs []auditEvent
			if err := admin.Do(ctx, "GET", "/requests/"+r.ID+"/events", nil, &evs); err == nil {
				for _, e := range evs {
					t.Logf("  %s %s %v", e.At.Format("15:04:05.000"), e.Type, e.Details)
				}
			}
			for _, d := range downs {
				if d.to.After(r.Deadline.Add(-5*time.Second)) && d.from.Before(r.EndedAt.Add(time.Second)) {
					t.Logf("  down or stalled %s to %s", d.from.Format("15:04:05.000"), d.to.Format("15:04:05.000"))
				}
			}
		}
	}
	for _, g := range f.Groups {
		if got := testenv.GroupMembers(t, m, g); len(got) != 0 {
			t.Errorf("%s still has %v after every request ended", g, got)
		}
	}
	// The audit log's hash chain holds across the kills (each event is
	// chained in the commit that writes it), read beside the running server
	// as `sym audit verify` reads it.
	if n, err := store.VerifyAudit(ctx, db); err != nil {
		t.Errorf("the audit chain after %d kills: %v (%d events before it verified)", kills, err, n)
	}
	if ended < kills/2 {
		t.Fatalf("only %d grants ended over %d kills: the workload did too little to prove anything", ended, kills)
	}
	t.Logf("%d kills, %d requests, %d grants ended and checked against deadline + downtime + 1 s; %d of them landed past the kills-only bound, within the stalls the probe saw",
		kills, len(all), ended, neededStalls)
}
