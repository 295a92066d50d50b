package password

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Int is a policy number. PingOne truncates fractional numbers in policies
// (minAgeDays 1.5 reads back as 1), so one may be stored that way.
type Int int

func (n *Int) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Int(math.Trunc(f))
	return nil
}

// Policy is a PingOne password policy, decoded from the JSON the store keeps
// (the field names are PingOne's). Absent rules are nil and not enforced.
type Policy struct {
	ID                   string `json:"-"`
	ExcludesCommonlyUsed bool   `json:"excludesCommonlyUsed"`
	ExcludesProfileData  bool   `json:"excludesProfileData"`
	NotSimilarToCurrent  bool   `json:"notSimilarToCurrent"`
	History              *struct {
		Count         Int `json:"count"`
		RetentionDays Int `json:"retentionDays"`
	} `json:"history"`
	Length *struct {
		Min Int  `json:"min"`
		Max *Int `json:"max"`
	} `json:"length"`
	Lockout *struct {
		FailureCount    Int `json:"failureCount"`
		DurationSeconds Int `json:"durationSeconds"`
	} `json:"lockout"`
	MaxAgeDays            *Int           `json:"maxAgeDays"`
	MinAgeDays            *Int           `json:"minAgeDays"`
	MaxRepeatedCharacters *Int           `json:"maxRepeatedCharacters"`
	MinUniqueCharacters   *Int           `json:"minUniqueCharacters"`
	MinComplexity         *Int           `json:"minComplexity"`
	MinCharacters         map[string]Int `json:"minCharacters"`
}

// ParsePolicy decodes a stored policy.
func ParsePolicy(id string, data []byte) (*Policy, error) {
	p := &Policy{ID: id}
	if len(data) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("password policy %s: %w", id, err)
	}
	return p, nil
}

// Violation is one policy rule a password fails. Rule is the policy
// attribute's PingOne name (length, minCharacters, history…).
type Violation struct {
	Rule    string
	Message string
}

func violation(rule, format string, a ...any) Violation {
	return Violation{Rule: rule, Message: fmt.Sprintf("Password policy requirement '%s' not met: the password "+format, append([]any{rule}, a...)...)}
}

// Profile is what excludesProfileData compares a password with.
type Profile struct {
	Username, Email, GivenName, FamilyName, Nickname string
}

// minProfileLen keeps short profile values (initials, a two-letter name)
// from banning every password that happens to contain them.
const minProfileLen = 3

// Check runs the rules that need only the password: every rule but history
// and minAgeDays, which need stored state (see InHistory and TooYoung).
// current is the user's current password in clear when the caller knows it
// (a self-service change); notSimilarToCurrent is checked only then.
func (p *Policy) Check(pw string, prof Profile, current string) []Violation {
	var out []Violation
	n := utf8.RuneCountInString(pw)
	if p.Length != nil {
		lo, hi := int(p.Length.Min), math.MaxInt
		if p.Length.Max != nil && *p.Length.Max > 0 {
			hi = int(*p.Length.Max)
		}
		if n < lo || n > hi {
			if hi == math.MaxInt {
				out = append(out, violation("length", "must have at least %d characters.", lo))
			} else {
				out = append(out, violation("length", "must be between %d and %d characters.", lo, hi))
			}
		}
	}
	sets := make([]string, 0, len(p.MinCharacters))
	for set := range p.MinCharacters {
		sets = append(sets, set)
	}
	slices.Sort(sets)
	for _, set := range sets {
		want := int(p.MinCharacters[set])
		have := 0
		for _, r := range pw {
			if strings.ContainsRune(set, r) {
				have++
			}
		}
		if have < want {
			out = append(out, violation("minCharacters", "must have at least %d of the following characters: %s", want, set))
		}
	}
	if p.MaxRepeatedCharacters != nil && *p.MaxRepeatedCharacters > 0 && longestRun(pw) > int(*p.MaxRepeatedCharacters) {
		out = append(out, violation("maxRepeatedCharacters", "must not repeat a character more than %d times in a row.", *p.MaxRepeatedCharacters))
	}
	if p.MinUniqueCharacters != nil && distinct(pw) < int(*p.MinUniqueCharacters) {
		out = append(out, violation("minUniqueCharacters", "must have at least %d unique characters.", *p.MinUniqueCharacters))
	}
	if p.MinComplexity != nil && *p.MinComplexity > 0 && haystackDays(pw) < float64(*p.MinComplexity) {
		out = append(out, violation("minComplexity", "is not complex enough: it could be guessed in less than %d days.", *p.MinComplexity))
	}
	if p.ExcludesCommonlyUsed && IsCommon(pw) {
		out = append(out, violation("excludesCommonlyUsed", "must not be a commonly used password."))
	}
	if p.ExcludesProfileData && containsProfile(pw, prof) {
		out = append(out, violation("excludesProfileData", "must not contain values from the user's profile."))
	}
	if p.NotSimilarToCurrent && current != "" && levenshtein(pw, current) < similarDistance {
		out = append(out, violation("notSimilarToCurrent", "must not be similar to the current password."))
	}
	return out
}

// similarDistance is PingOne's: a Levenshtein distance below 3 from the
// current password is too similar.
const similarDistance = 3

// HistoryCount is how many passwords, the current one included, the
// history rule remembers (0 when the policy has no history rule).
func (p *Policy) HistoryCount() int {
	if p.History == nil || p.History.Count < 1 {
		return 0
	}
	return int(p.History.Count)
}

// HistoryRetention is how long a password stays in the history (0: forever).
func (p *Policy) HistoryRetention() time.Duration {
	if p.History == nil || p.History.RetentionDays < 1 {
		return 0
	}
	return time.Duration(p.History.RetentionDays) * 24 * time.Hour
}

// HistoryViolation is the violation of the history rule.
func (p *Policy) HistoryViolation() Violation {
	return violation("history", "must not match any of the last %d passwords.", p.HistoryCount())
}

// TooYoung returns the minAgeDays violation when a password last changed at
// changed may not be changed yet at now.
func (p *Policy) TooYoung(changed, now time.Time) *Violation {
	if p.MinAgeDays == nil || *p.MinAgeDays < 1 || changed.IsZero() {
		return nil
	}
	if now.Before(changed.Add(time.Duration(*p.MinAgeDays) * 24 * time.Hour)) {
		v := violation("minAgeDays", "cannot be changed until it is at least %d day(s) old.", *p.MinAgeDays)
		return &v
	}
	return nil
}

// Expired reports whether a password last changed at changed has outlived
// maxAgeDays at now.
func (p *Policy) Expired(changed, now time.Time) bool {
	if p.MaxAgeDays == nil || *p.MaxAgeDays < 1 || changed.IsZero() {
		return false
	}
	return !now.Before(changed.Add(time.Duration(*p.MaxAgeDays) * 24 * time.Hour))
}

// LockoutAfter returns how many consecutive failures lock the password and
// for how long (0, 0 when the policy has no lockout rule).
func (p *Policy) LockoutAfter() (int, time.Duration) {
	if p.Lockout == nil || p.Lockout.FailureCount < 1 {
		return 0, 0
	}
	d := time.Duration(p.Lockout.DurationSeconds) * time.Second
	if d <= 0 {
		d = 15 * time.Minute
	}
	return int(p.Lockout.FailureCount), d
}

func longestRun(s string) int {
	best, run := 0, 0
	var prev rune = -1
	for _, r := range s {
		if r == prev {
			run++
		} else {
			run, prev = 1, r
		}
		best = max(best, run)
	}
	return best
}

func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// haystackDays estimates, after GRC's "password haystacks" that PingOne's
// minComplexity is based on, how many days an offline attack of 100
// trillion guesses a second needs to search every password of this length
// over the character classes it uses.
func haystackDays(pw string) float64 {
	var lower, upper, digit, symbol, other bool
	for _, r := range pw {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r < utf8.RuneSelf && unicode.IsPrint(r):
			symbol = true
		default:
			other = true
		}
	}
	alphabet := 0.0
	for _, c := range []struct {
		used bool
		size float64
	}{{lower, 26}, {upper, 26}, {digit, 10}, {symbol, 33}, {other, 100}} {
		if c.used {
			alphabet += c.size
		}
	}
	if alphabet < 2 {
		return 0
	}
	n := float64(utf8.RuneCountInString(pw))
	// Σ alphabet^i for i = 1..n, in closed form.
	space := (math.Pow(alphabet, n+1) - alphabet) / (alphabet - 1)
	return space / 1e14 / 86400
}

func containsProfile(pw string, prof Profile) bool {
	low := strings.ToLower(pw)
	local, _, _ := strings.Cut(prof.Email, "@")
	for _, v := range []string{prof.Username, prof.Email, local, prof.GivenName, prof.FamilyName, prof.Nickname} {
		v = strings.ToLower(strings.TrimSpace(v))
		if utf8.RuneCountInString(v) >= minProfileLen && strings.Contains(low, v) {
			return true
		}
	}
	return false
}

// levenshtein counts the single-character insertions, deletions and
// substitutions that turn a into b.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

//go:embed common-passwords.txt
var commonFile string

var common = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 4096)
	sc := bufio.NewScanner(strings.NewReader(commonFile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = struct{}{}
		}
	}
	return m
})

// IsCommon reports whether pw is on the embedded list of the most common
// passwords, ignoring case.
func IsCommon(pw string) bool {
	_, ok := common()[strings.ToLower(pw)]
	return ok
}
