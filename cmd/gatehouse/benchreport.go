package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// benchReport is what `gatehouse bench` prints: as a table, or as JSON
// with --json.
type benchReport struct {
	URL             string           `json:"url"`
	EnvironmentID   string           `json:"environmentId"`
	CPUs            int              `json:"cpus"`
	GOMAXPROCS      int              `json:"gomaxprocs"`
	DurationSeconds float64          `json:"durationSeconds"`
	Concurrency     int              `json:"concurrency"`
	SigningAlg      string           `json:"signingAlg"`
	Floors          []benchFloor     `json:"floors"`
	Scenarios       []scenarioResult `json:"scenarios"`
	// Hints name the server flags that would have spared the 429s.
	Hints []string `json:"hints"`
}

// scenarioResult is one scenario's figures. An op is one request, or
// one whole sign-on.
type scenarioResult struct {
	Scenario string `json:"scenario"`
	// Requests counts the ops sent, Errors those that failed (429s and
	// transport errors among them), RateLimited the 429s.
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	RateLimited int64   `json:"rateLimited"`
	PerSecond   float64 `json:"perSecond"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	// Floor is the crypto rate that bounds the scenario, its measured
	// rate and PerSecond over it; empty or zero when none applies or the
	// floors were not measured.
	Floor          string           `json:"floor,omitempty"`
	FloorPerSecond float64          `json:"floorPerSecond,omitempty"`
	Ratio          float64          `json:"ratio,omitempty"`
	ErrorKinds     map[string]int64 `json:"errorKinds,omitempty"`

	floorKind string
}

// limitHints are the server's rate-limit refusals (what a 429 says) and
// the flag that lifts each.
var limitHints = []struct{ says, flag string }{
	{"sign-ons in progress from this address", "--limit-flows-per-address off"},
	{"sign-ons are in progress in this environment", "--limit-live-flows-per-environment 0"},
	{"failed sign-on attempts from this address", "--limit-check-failures-per-address off"},
	{"failed sign-on attempts for this user", "--limit-check-failures-per-user off"},
	{"failed client authentications from this address", "--limit-client-auth-failures-per-address off"},
	{"failed authentications of this client", "--limit-client-auth-failures-per-client off"},
	{"requests from this client", "--limit-requests-per-client off"},
	{"requests from this address", "--limit-requests-per-address off"},
}

// applyFloors names each scenario's floor and, where it was measured,
// its ratio to it.
func (rep *benchReport) applyFloors() {
	for i := range rep.Scenarios {
		r := &rep.Scenarios[i]
		if r.Floor = floorName(r.floorKind, rep.SigningAlg); r.Floor == "" {
			continue
		}
		for _, f := range rep.Floors {
			if f.Name == r.Floor && f.PerSecond > 0 {
				r.FloorPerSecond = f.PerSecond
				r.Ratio = round(r.PerSecond/f.PerSecond, 3)
			}
		}
	}
}

// add puts r in the report, with a hint for each kind of refusal it met.
func (rep *benchReport) add(r scenarioResult) {
	r.PerSecond = round(r.PerSecond, 1)
	if len(r.ErrorKinds) == 0 {
		r.ErrorKinds = nil
	}
	for kind := range r.ErrorKinds {
		if strings.HasPrefix(kind, "503 ") && strings.Contains(kind, "password checks") {
			hint := r.Scenario + ": 503s: the server's password hashing was full (more checks waiting than --password-hash-queue, or longer than --password-hash-wait): lower --concurrency to measure the hash-bound rate without refusals"
			if !slices.Contains(rep.Hints, hint) {
				rep.Hints = append(rep.Hints, hint)
			}
			continue
		}
		if !strings.HasPrefix(kind, "429 ") {
			continue
		}
		hint := fmt.Sprintf("%s: 429 %q: a rate limit of the server refused requests; see README, Rate limits", r.Scenario, strings.TrimPrefix(kind, "429 "))
		for _, h := range limitHints {
			if strings.Contains(kind, h.says) {
				hint = fmt.Sprintf("%s: 429s (%s): for a benchmark from one address, start the server with %s", r.Scenario, h.says, h.flag)
				break
			}
		}
		if !slices.Contains(rep.Hints, hint) {
			rep.Hints = append(rep.Hints, hint)
		}
	}
	slices.Sort(rep.Hints)
	rep.Scenarios = append(rep.Scenarios, r)
}

func round(f float64, places int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', places, 64), 64)
	return v
}

func (rep *benchReport) printTable(w io.Writer) {
	fmt.Fprintf(w, "gatehouse bench: %s, %s access tokens; %g s per scenario, concurrency %d; this machine: %d CPUs (GOMAXPROCS %d)\n",
		rep.URL, rep.SigningAlg, rep.DurationSeconds, rep.Concurrency, rep.CPUs, rep.GOMAXPROCS)
	if len(rep.Floors) > 0 {
		var fs []string
		for _, f := range rep.Floors {
			fs = append(fs, f.Name+" "+commas(f.PerSecond)+"/s")
		}
		fmt.Fprintf(w, "crypto floors, all cores, the higher of %d samples: %s\n", len(rep.Floors[0].Samples), strings.Join(fs, ", "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tops/s\tp50\tp99\tops\terrors\tfloor\tratio\t")
	for _, r := range rep.Scenarios {
		ratio, floor := "-", "-"
		if r.Floor != "" {
			floor = r.Floor
		}
		if r.Ratio > 0 {
			ratio = strconv.FormatFloat(r.Ratio, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Scenario, commas(r.PerSecond), msText(r.P50Ms), msText(r.P99Ms),
			commas(float64(r.Requests)), commas(float64(r.Errors)), floor, ratio)
	}
	tw.Flush()
	for _, r := range rep.Scenarios {
		kinds := make([]string, 0, len(r.ErrorKinds))
		for k := range r.ErrorKinds {
			kinds = append(kinds, k)
		}
		slices.SortFunc(kinds, func(a, b string) int { return int(r.ErrorKinds[b] - r.ErrorKinds[a]) })
		for _, k := range kinds {
			fmt.Fprintf(w, "  %s: %s × %s\n", r.Scenario, commas(float64(r.ErrorKinds[k])), k)
		}
	}
	if len(rep.Hints) > 0 {
		fmt.Fprintln(w)
	}
	for _, h := range rep.Hints {
		fmt.Fprintln(w, h)
	}
}

func msText(ms float64) string {
	switch {
	case ms == 0:
		return "-"
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	case ms < 100:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
}
