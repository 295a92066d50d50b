package credential_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// cheap keeps the tests fast: argon2id at its smallest cost still runs the
// real code paths, and its parameters travel with each hash.
var cheap = password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)

// t0 is the tests' clock, at the millisecond the store keeps.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Standard is the default policy of a provisioned environment: a lockout
// after 5 failures for 900 s, a history of 6 kept 365 days, minAgeDays 1,
// maxAgeDays 182.
const (
	lockAfter = 5
	lockFor   = 900 * time.Second
)

type fixture struct {
	st    store.Store
	svc   *credential.Service
	envID string
	popID string // the Default population, under the Standard policy
}

func setup(t *testing.T, b sqltest.Backend) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, b.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := secrets.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := store.Now()
	org := &store.Organization{ID: uuid.NewString(), Name: "o", Type: "INTERNAL", CreatedAt: now, UpdatedAt: now}
	lic := &store.License{ID: uuid.NewString(), OrganizationID: org.ID, Name: "l", Package: "GLOBAL", Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	env := &store.Environment{ID: uuid.NewString(), OrganizationID: org.ID, Name: "e", Type: "SANDBOX", Region: "NA", LicenseID: lic.ID,
		Status: "ACTIVE", CreatedAt: now, UpdatedAt: now}
	// An EC key: the environment needs one, and RSA generation is slow.
	key, err := keys.Generate(env.ID, keys.Spec{Name: "k", Algorithm: "EC", KeyLength: 256, SignatureAlgorithm: "SHA256withECDSA",
		SubjectDN: "CN=k", UsageType: "SIGNING", ValidityDays: 30, Default: true}, sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		if err := tx.CreateLicense(ctx, lic); err != nil {
			return err
		}
		return provision.NewEnvironment(ctx, tx, env, key)
	})
	if err != nil {
		t.Fatal(err)
	}
	popID, err := st.ResolvePopulation(ctx, env.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, svc: &credential.Service{Store: st, Hasher: cheap}, envID: env.ID, popID: popID}
}

// population adds a population governed by a policy with these rules.
func (f *fixture) population(t *testing.T, rules map[string]any) string {
	t.Helper()
	ctx := context.Background()
	data, _ := json.Marshal(rules)
	pp := &store.PasswordPolicy{ID: uuid.NewString(), EnvironmentID: f.envID, Name: "p-" + uuid.NewString(), Data: data, CreatedAt: t0, UpdatedAt: t0}
	if err := f.st.CreatePasswordPolicy(ctx, pp); err != nil {
		t.Fatal(err)
	}
	pop := &store.Population{ID: uuid.NewString(), EnvironmentID: f.envID, Name: "pop-" + pp.ID, PasswordPolicyID: pp.ID,
		Data: json.RawMessage(`{}`), CreatedAt: t0, UpdatedAt: t0}
	if err := f.st.CreatePopulation(ctx, pop); err != nil {
		t.Fatal(err)
	}
	return pop.ID
}

// user creates a user of popID whose password, when plain is not empty, was
// set at changed with status.
func (f *fixture) user(t *testing.T, popID, username, plain, status string, changed time.Time) *store.User {
	t.Helper()
	ctx := context.Background()
	u := &store.User{ID: uuid.NewString(), EnvironmentID: f.envID, PopulationID: popID, Username: username, Email: username + "@example.com",
		GivenName: "Robin", FamilyName: "Quartermain", Enabled: true, AccountStatus: "OK", LifecycleStatus: "ACCOUNT_OK",
		IdentityProviderType: "PING_ONE", VerifyStatus: "NOT_INITIATED", Data: json.RawMessage(`{"nickname":"Zephyrine"}`), CreatedAt: t0, UpdatedAt: t0}
	if err := f.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if plain != "" {
		f.setPassword(t, u, plain, status, changed)
	}
	return u
}

func (f *fixture) setPassword(t *testing.T, u *store.User, plain, status string, at time.Time) *store.UserPassword {
	t.Helper()
	ctx := context.Background()
	hash, err := f.svc.Hash(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := f.svc.SetPassword(ctx, u, hash, status, at)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

func (f *fixture) load(t *testing.T, userID string) *credential.Account {
	t.Helper()
	a, err := f.svc.Load(context.Background(), f.st, f.envID, userID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const right = "Tangerine-Kite-42"

// verifyStep is one sign-on attempt and what it must leave behind.
type verifyStep struct {
	name       string
	plain      string
	at         time.Time
	wantErr    string // "", "wrong", "locked", "just-locked"
	remaining  int    // of a wrong password
	until      time.Time
	failed     int    // the stored failure count afterwards
	account    string // the stored account status afterwards
	accountEnd time.Time
}

func TestVerify(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	lockedAt := at(10 * time.Second)
	until := lockedAt.Add(lockFor)
	standard := []verifyStep{
		{name: "wrong counts down", plain: "nope", at: at(1 * time.Second), wantErr: "wrong", remaining: 4, failed: 1, account: "OK"},
		{name: "wrong again", plain: "nope", at: at(2 * time.Second), wantErr: "wrong", remaining: 3, failed: 2, account: "OK"},
		{name: "right clears failures", plain: right, at: at(3 * time.Second), failed: 0, account: "OK"},
		{name: "count restarts 1", plain: "nope", at: at(4 * time.Second), wantErr: "wrong", remaining: 4, failed: 1, account: "OK"},
		{name: "count restarts 2", plain: "nope", at: at(5 * time.Second), wantErr: "wrong", remaining: 3, failed: 2, account: "OK"},
		{name: "count restarts 3", plain: "nope", at: at(6 * time.Second), wantErr: "wrong", remaining: 2, failed: 3, account: "OK"},
		{name: "last attempt", plain: "nope", at: at(7 * time.Second), wantErr: "wrong", remaining: 1, failed: 4, account: "OK"},
		{name: "fifth failure locks password and account", plain: "nope", at: lockedAt, wantErr: "just-locked", until: until,
			failed: 5, account: "LOCKED", accountEnd: until},
		{name: "locked: right password not checked", plain: right, at: at(20 * time.Second), wantErr: "locked", until: until,
			failed: 5, account: "LOCKED", accountEnd: until},
		{name: "locked: wrong password not counted", plain: "nope", at: until.Add(-time.Millisecond), wantErr: "locked", until: until,
			failed: 5, account: "LOCKED", accountEnd: until},
		{name: "lock ran out: wrong starts a new count", plain: "nope", at: until, wantErr: "wrong", remaining: 4,
			failed: 1, account: "LOCKED", accountEnd: until},
		{name: "right password unlocks the account", plain: right, at: until.Add(time.Second), failed: 0, account: "OK"},
	}
	noLockout := []verifyStep{
		{name: "wrong without lockout", plain: "nope", at: at(1 * time.Second), wantErr: "wrong", remaining: -1, failed: 1, account: "OK"},
		{name: "wrong many times", plain: "nope", at: at(2 * time.Second), wantErr: "wrong", remaining: -1, failed: 2, account: "OK"},
		{name: "right", plain: right, at: at(3 * time.Second), failed: 0, account: "OK"},
	}
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			for _, seq := range []struct {
				name  string
				popID string
				steps []verifyStep
			}{
				{"standard", f.popID, standard},
				{"no lockout", f.population(t, map[string]any{"length": map[string]int{"min": 1}}), noLockout},
			} {
				t.Run(seq.name, func(t *testing.T) {
					u := f.user(t, seq.popID, "u-"+uuid.NewString()[:8], right, credential.StatusOK, t0)
					for _, s := range seq.steps {
						a := f.load(t, u.ID)
						err := f.svc.Verify(context.Background(), a, s.plain, s.at)
						checkVerifyErr(t, s, err)
						stored := f.load(t, u.ID)
						if stored.Password.FailedCount != s.failed {
							t.Errorf("%s: stored failedCount %d, want %d", s.name, stored.Password.FailedCount, s.failed)
						}
						if a.Password.FailedCount != s.failed || !a.Password.LockedUntil.Equal(stored.Password.LockedUntil) {
							t.Errorf("%s: account's password %+v, stored %+v", s.name, a.Password, stored.Password)
						}
						su := stored.User
						if su.AccountStatus != s.account || !su.UnlockAt.Equal(s.accountEnd) {
							t.Errorf("%s: stored account %s until %v, want %s until %v", s.name, su.AccountStatus, su.UnlockAt, s.account, s.accountEnd)
						}
						if a.User.AccountStatus != su.AccountStatus || !a.User.UnlockAt.Equal(su.UnlockAt) {
							t.Errorf("%s: account's user %s until %v, stored %s until %v", s.name, a.User.AccountStatus, a.User.UnlockAt,
								su.AccountStatus, su.UnlockAt)
						}
						if s.wantErr == "just-locked" && !su.LockedAt.Equal(s.at) {
							t.Errorf("%s: lockedAt %v, want %v", s.name, su.LockedAt, s.at)
						}
						locked := s.wantErr == "locked" || s.wantErr == "just-locked"
						if got := stored.Status(s.at); (got == credential.StatusLockedOut) != locked {
							t.Errorf("%s: status %s", s.name, got)
						}
					}
				})
			}
		})
	}
}

func checkVerifyErr(t *testing.T, s verifyStep, err error) {
	t.Helper()
	var wrong *credential.WrongPasswordError
	var locked *credential.LockedError
	switch s.wantErr {
	case "":
		if err != nil {
			t.Errorf("%s: Verify = %v, want nil", s.name, err)
		}
	case "wrong":
		if !errors.As(err, &wrong) {
			t.Errorf("%s: Verify = %v, want WrongPasswordError", s.name, err)
		} else if wrong.Remaining != s.remaining {
			t.Errorf("%s: Remaining %d, want %d", s.name, wrong.Remaining, s.remaining)
		}
	case "locked", "just-locked":
		if !errors.As(err, &locked) {
			t.Errorf("%s: Verify = %v, want LockedError", s.name, err)
			return
		}
		if !locked.Until.Equal(s.until) || locked.JustLocked != (s.wantErr == "just-locked") {
			t.Errorf("%s: LockedError{Until %v, JustLocked %v}, want {%v, %v}", s.name, locked.Until, locked.JustLocked, s.until, s.wantErr == "just-locked")
		}
		if want := credential.SecondsUntil(s.until, s.at); locked.SecondsUntil(s.at) != want {
			t.Errorf("%s: SecondsUntil %d, want %d", s.name, locked.SecondsUntil(s.at), want)
		}
	}
}

// TestVerifyKeepsAdministratorLock: a right password ends a password
// lockout's failures but never an administrator's lock of the account.
func TestVerifyKeepsAdministratorLock(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ctx := context.Background()
			u := f.user(t, f.popID, "admin.locked", right, credential.StatusOK, t0)
			if err := f.st.UpdateUserAccount(ctx, f.envID, u.ID, "LOCKED", t0, time.Time{}, t0); err != nil {
				t.Fatal(err)
			}
			a := f.load(t, u.ID)
			if err := f.svc.Verify(ctx, a, right, t0.Add(time.Hour)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got := f.load(t, u.ID).User; got.AccountStatus != "LOCKED" || !credential.AccountLocked(got, t0.Add(time.Hour)) {
				t.Errorf("account %s: the administrator's lock must stay", got.AccountStatus)
			}
			// A new password does not open it either.
			f.setPassword(t, u, "Other-Kite-77", credential.StatusOK, t0.Add(2*time.Hour))
			if got := f.load(t, u.ID).User; got.AccountStatus != "LOCKED" {
				t.Errorf("after SetPassword: account %s, want LOCKED", got.AccountStatus)
			}
		})
	}
}

func TestLoadAndUnknownUsers(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ctx := context.Background()
			u := f.user(t, f.popID, "Known.User", right, credential.StatusOK, t0)
			noPw := f.user(t, f.popID, "no.password", "", "", t0)

			a, err := f.svc.LoadByUsername(ctx, f.envID, "KNOWN.user")
			if err != nil {
				t.Fatalf("LoadByUsername: %v", err)
			}
			if a.User.ID != u.ID || a.Password == nil || a.PolicyRecord == nil || a.Policy.ID != a.PolicyRecord.ID || a.PolicyRecord.Name != "Standard" {
				t.Errorf("account %+v, want the user under the Standard policy", a)
			}
			for _, c := range []struct {
				name string
				load func() (*credential.Account, error)
			}{
				{"unknown username", func() (*credential.Account, error) { return f.svc.LoadByUsername(ctx, f.envID, "nobody") }},
				{"username of another environment", func() (*credential.Account, error) {
					return f.svc.LoadByUsername(ctx, uuid.NewString(), "known.user")
				}},
				{"unknown id", func() (*credential.Account, error) { return f.svc.Load(ctx, f.st, f.envID, uuid.NewString()) }},
			} {
				if _, err := c.load(); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: err %v, want store.ErrNotFound", c.name, err)
				}
			}
			var wrong *credential.WrongPasswordError
			if err := f.svc.VerifyUnknown(ctx, f.envID, "nobody", "anything", t0); !errors.As(err, &wrong) || wrong.Remaining != lockAfter-1 {
				t.Errorf("VerifyUnknown: %v, want a wrong password with %d remaining", err, lockAfter-1)
			}
			na := f.load(t, noPw.ID)
			if na.Password != nil || na.Status(t0) != credential.StatusNone {
				t.Errorf("no password: %+v, status %s", na.Password, na.Status(t0))
			}
			if err := f.svc.Verify(ctx, na, "anything", t0); !errors.Is(err, credential.ErrNoPassword) {
				t.Errorf("Verify without a password: %v, want ErrNoPassword", err)
			}
		})
	}
}

// TestVerifyUnknownAsVerify: wrong passwords for a username that names no
// user get the answers a user's get, step for step — counting down,
// locking, refusing while locked, a fresh count once the lock ran out or
// the last failure is a day old — so that no sequence of answers tells
// the two apart. Unknown usernames ignore case, as usernames do.
func TestVerifyUnknownAsVerify(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	lockedAt := at(5 * time.Second)
	steps := []struct {
		name string
		at   time.Time
	}{
		{"first", at(time.Second)},
		{"second", at(2 * time.Second)},
		{"third", at(3 * time.Second)},
		{"fourth", at(4 * time.Second)},
		{"fifth locks", lockedAt},
		{"locked", at(6 * time.Second)},
		{"locked to the last millisecond", lockedAt.Add(lockFor - time.Millisecond)},
		{"the lock ran out", lockedAt.Add(lockFor)},
		{"counting again", lockedAt.Add(lockFor + time.Second)},
		{"a day later the count starts over", lockedAt.Add(lockFor + time.Second + credential.FailureWindow)},
	}
	type answer struct {
		kind      string
		remaining int
		until     time.Time
		just      bool
	}
	read := func(err error) answer {
		var wrong *credential.WrongPasswordError
		var locked *credential.LockedError
		switch {
		case errors.As(err, &wrong):
			return answer{kind: "wrong", remaining: wrong.Remaining}
		case errors.As(err, &locked):
			return answer{kind: "locked", until: locked.Until, just: locked.JustLocked}
		}
		return answer{kind: fmt.Sprint(err)}
	}
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ctx := context.Background()
			u := f.user(t, f.popID, "real.user", right, credential.StatusOK, t0)
			var got [2][]answer
			for i, s := range steps {
				got[0] = append(got[0], read(f.svc.Verify(ctx, f.load(t, u.ID), "nope", s.at)))
				name := []string{"Ghost.User", "ghost.user", "GHOST.USER"}[i%3]
				got[1] = append(got[1], read(f.svc.VerifyUnknown(ctx, f.envID, name, "nope", s.at)))
			}
			for i, s := range steps {
				if got[0][i] != got[1][i] {
					t.Errorf("%s: a user got %+v, an unknown username %+v", s.name, got[0][i], got[1][i])
				}
			}
			want := []answer{{kind: "wrong", remaining: 4}, {kind: "wrong", remaining: 3}, {kind: "wrong", remaining: 2},
				{kind: "wrong", remaining: 1}, {kind: "locked", until: lockedAt.Add(lockFor), just: true},
				{kind: "locked", until: lockedAt.Add(lockFor)}, {kind: "locked", until: lockedAt.Add(lockFor)},
				{kind: "wrong", remaining: 4}, {kind: "wrong", remaining: 3}, {kind: "wrong", remaining: 4}}
			if !slices.Equal(got[1], want) {
				t.Errorf("unknown username's answers\n%+v\nwant\n%+v", got[1], want)
			}
			// Another environment's count of the same name is its own.
			g := setup(t, b)
			if a := read(g.svc.VerifyUnknown(ctx, g.envID, "ghost.user", "nope", at(7*time.Second))); a != (answer{kind: "wrong", remaining: 4}) {
				t.Errorf("the name in another environment: %+v", a)
			}
		})
	}
}

// TestStatus reads statuses of stored passwords under the Standard policy
// (maxAgeDays 182).
func TestStatus(t *testing.T) {
	day := 24 * time.Hour
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			for i, c := range []struct {
				name    string
				status  string
				changed time.Time
				lock    bool
				at      time.Time
				want    string
			}{
				{"fresh", credential.StatusOK, t0, false, t0.Add(day), credential.StatusOK},
				{"forced change", credential.StatusMustChange, t0, false, t0.Add(day), credential.StatusMustChange},
				{"one millisecond before expiry", credential.StatusOK, t0, false, t0.Add(182*day - time.Millisecond), credential.StatusOK},
				{"expired at maxAgeDays", credential.StatusOK, t0, false, t0.Add(182 * day), credential.StatusExpired},
				{"forced change wins over expiry", credential.StatusMustChange, t0, false, t0.Add(200 * day), credential.StatusMustChange},
				{"lockout wins over forced change", credential.StatusMustChange, t0, true, t0.Add(time.Minute), credential.StatusLockedOut},
				{"lockout ended", credential.StatusOK, t0, true, t0.Add(lockFor + time.Second), credential.StatusOK},
			} {
				u := f.user(t, f.popID, "status"+string(rune('a'+i)), right, c.status, c.changed)
				if c.lock {
					for n := 0; n < lockAfter; n++ {
						if _, err := f.st.RecordPasswordFailure(context.Background(), f.envID, u.ID, lockAfter, lockFor, 0, t0); err != nil {
							t.Fatal(err)
						}
					}
				}
				a := f.load(t, u.ID)
				if got := a.Status(c.at); got != c.want {
					t.Errorf("%s: status %s, want %s", c.name, got, c.want)
				}
				if got := credential.Status(a.Password, a.Policy, c.at); got != c.want {
					t.Errorf("%s: Status %s, want %s", c.name, got, c.want)
				}
			}
		})
	}
}

func TestCheckNew(t *testing.T) {
	day := 24 * time.Hour
	const (
		oldest  = "Amber-Violin-31"
		older   = "Cobalt-Meadow-58"
		current = "Saffron-Harbor-74"
	)
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ctx := context.Background()
			// The Standard policy: history 6 over 365 days, minAgeDays 1.
			u := f.user(t, f.popID, "robin.q", oldest, credential.StatusOK, t0.Add(-364*day))
			f.setPassword(t, u, older, credential.StatusOK, t0.Add(-10*day))
			pw := f.setPassword(t, u, current, credential.StatusOK, t0.Add(-2*day))
			if len(pw.History) != 2 || !pw.History[0].ChangedAt.Equal(t0.Add(-10*day)) || !pw.History[1].ChangedAt.Equal(t0.Add(-364*day)) {
				t.Fatalf("history %+v, want the two earlier passwords, newest first", pw.History)
			}
			young := f.user(t, f.popID, "young.pw", current, credential.StatusOK, t0.Add(-time.Hour))
			forced := f.user(t, f.popID, "forced.pw", current, credential.StatusMustChange, t0.Add(-time.Hour))
			noHist := f.user(t, f.population(t, map[string]any{"length": map[string]int{"min": 4}}), "no.history", current, credential.StatusOK, t0)

			for _, c := range []struct {
				name     string
				userID   string
				newPlain string
				curPlain string
				self     bool
				at       time.Duration // after t0
				want     []string
			}{
				{"good", u.ID, "Juniper-Lantern-96", "", false, 0, nil},
				{"good self-service", u.ID, "Juniper-Lantern-96", current, true, 0, nil},
				{"short and plain", u.ID, "aaab", "", false, 0, []string{"length", "minCharacters", "minCharacters", "minCharacters",
					"maxRepeatedCharacters", "minUniqueCharacters"}},
				{"common", u.ID, "password1", "", false, 0, []string{"minCharacters", "minCharacters", "excludesCommonlyUsed"}},
				{"profile data", u.ID, "Zephyrine-Kite-9!", "", false, 0, []string{"excludesProfileData"}},
				{"similar to current", u.ID, "Saffron-Harbor-75", current, true, 0, []string{"notSimilarToCurrent"}},
				{"current password", u.ID, current, "", false, 0, []string{"history"}},
				{"in history", u.ID, older, "", false, 0, []string{"history"}},
				{"oldest within retention", u.ID, oldest, "", false, 0, []string{"history"}},
				{"oldest out of retention", u.ID, oldest, "", false, 2 * day, nil},
				{"too young for self-service", young.ID, "Juniper-Lantern-96", current, true, 0, []string{"minAgeDays"}},
				{"too young is fine for an administrator", young.ID, "Juniper-Lantern-96", "", false, 0, nil},
				{"forced change ignores minAgeDays", forced.ID, "Juniper-Lantern-96", current, true, 0, nil},
				{"no history rule", noHist.ID, current, "", false, 0, nil},
			} {
				a := f.load(t, c.userID)
				vs, err := f.svc.CheckNew(ctx, a, c.newPlain, c.curPlain, c.self, t0.Add(c.at))
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if got := credential.Rules(vs); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
					t.Errorf("%s: rules %v, want %v", c.name, got, c.want)
				}
			}
		})
	}
}

// TestSetPassword: a new password ends the lockout it replaces and keeps at
// most history.count-1 earlier ones.
func TestSetPassword(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := setup(t, b)
			ctx := context.Background()
			u := f.user(t, f.popID, "set.pw", right, credential.StatusOK, t0)
			a := f.load(t, u.ID)
			var err error
			for n := 0; n < lockAfter; n++ {
				err = f.svc.Verify(ctx, a, "nope", t0.Add(time.Second))
			}
			var locked *credential.LockedError
			if !errors.As(err, &locked) || !locked.JustLocked {
				t.Fatalf("after %d failures: %v, want a LockedError", lockAfter, err)
			}
			hash, err := f.svc.Hash(ctx, "Replaced-Kite-88")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 7 {
				if _, err := f.svc.SetPassword(ctx, u, hash, credential.StatusMustChange, t0.Add(time.Duration(i+2)*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			got := f.load(t, u.ID)
			if got.Password.FailedCount != 0 || !got.Password.LockedUntil.IsZero() || got.User.AccountStatus != "OK" || !got.User.UnlockAt.IsZero() {
				t.Errorf("after SetPassword: password %+v, account %s until %v", got.Password, got.User.AccountStatus, got.User.UnlockAt)
			}
			if len(got.Password.History) != 5 {
				t.Errorf("history of %d, want 5 (count 6 with the current one)", len(got.Password.History))
			}
			if got.Status(t0.Add(time.Minute)) != credential.StatusMustChange {
				t.Errorf("status %s", got.Status(t0.Add(time.Minute)))
			}
		})
	}
}

func TestSelfServiceAllowed(t *testing.T) {
	for _, c := range []struct {
		typ, id string
		want    error
	}{
		{"PING_ONE", "", nil},
		{"PING_ONE", "0a7e1c2d-0000-4000-8000-000000000000", nil},
		{"", "", nil},
		{"OPENID_CONNECT", "0a7e1c2d-0000-4000-8000-000000000000", credential.ErrExternalUser},
	} {
		if got := credential.SelfServiceAllowed(&store.User{IdentityProviderType: c.typ, IdentityProviderID: c.id}); !errors.Is(got, c.want) {
			t.Errorf("%s/%s: %v, want %v", c.typ, c.id, got, c.want)
		}
	}
}
