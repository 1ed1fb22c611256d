package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hookline/hookline/handler/secrets"
)

type fakeSSM struct {
	values map[string]string
	calls  int
	err    error
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.calls++
	if !aws.ToBool(in.WithDecryption) {
		return nil, errors.New("SecureString read without decryption")
	}
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.values[aws.ToString(in.Name)]
	if !ok {
		return nil, &types.ParameterNotFound{Message: aws.String("not found")}
	}
	return &ssm.GetParameterOutput{Parameter: &types.Parameter{Value: aws.String(v)}}, nil
}

func TestGetCachesWithinTTL(t *testing.T) {
	f := &fakeSSM{values: map[string]string{"/a": "whsec_new\nwhsec_old"}}
	s := secrets.New(f)
	for i := 0; i < 3; i++ {
		got, err := s.Get(context.Background(), "/a")
		if err != nil || strings.Join(got, ",") != "whsec_new,whsec_old" {
			t.Fatalf("got %v, %v", got, err)
		}
	}
	if f.calls != 1 {
		t.Errorf("SSM called %d times", f.calls)
	}
}

func TestFailuresAreNotCached(t *testing.T) {
	f := &fakeSSM{values: map[string]string{}, err: errors.New("AccessDeniedException")}
	s := secrets.New(f)
	if _, err := s.Get(context.Background(), "/a"); !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "/a") {
		t.Fatalf("got %v", err)
	}
	f.err = nil
	f.values["/a"] = "k"
	if v, err := s.Get(context.Background(), "/a"); err != nil || v[0] != "k" {
		t.Fatalf("after the fix: %v %v", v, err)
	}
}

func TestMissingAndEmpty(t *testing.T) {
	s := secrets.New(&fakeSSM{values: map[string]string{"/empty": "  \n"}})
	for _, name := range []string{"/missing", "/empty"} {
		if _, err := s.Get(context.Background(), name); !errors.Is(err, secrets.ErrUnavailable) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := secrets.New(nil).Get(context.Background(), "/x"); !errors.Is(err, secrets.ErrUnavailable) {
		t.Errorf("no client: %v", err)
	}
}

// TestTTLAndRefresh is the rotation case: a value is reused within its TTL,
// read again after it, and Refresh reads early at most once per
// RefreshEvery, so a flood of forgeries costs one SSM call per interval.
func TestTTLAndRefresh(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	f := &fakeSSM{values: map[string]string{"/a": "old"}}
	s := secrets.New(f)
	s.TTL, s.RefreshEvery, s.Now = 5*time.Minute, 10*time.Second, func() time.Time { return now }

	if v, _ := s.Get(ctx, "/a"); v[0] != "old" {
		t.Fatalf("first read %v", v)
	}
	f.values["/a"] = "new\nold" // the team adds the new secret, one per line
	now = now.Add(4 * time.Minute)
	if v, _ := s.Get(ctx, "/a"); strings.Join(v, " ") != "old" || f.calls != 1 {
		t.Fatalf("within the TTL: %v after %d calls, want the cached value", v, f.calls)
	}
	// A signature that matched nothing: refresh early, once.
	v, refreshed, err := s.Refresh(ctx, "/a")
	if err != nil || !refreshed || strings.Join(v, " ") != "new old" || f.calls != 2 {
		t.Fatalf("refresh: %v %v %v after %d calls", v, refreshed, err, f.calls)
	}
	for i := 0; i < 100; i++ { // a flood of mismatches within RefreshEvery
		if _, refreshed, _ := s.Refresh(ctx, "/a"); refreshed {
			t.Fatal("refreshed again within RefreshEvery")
		}
	}
	if f.calls != 2 {
		t.Fatalf("a flood of refreshes made %d SSM calls, want 2", f.calls)
	}
	now = now.Add(11 * time.Second)
	if _, refreshed, _ := s.Refresh(ctx, "/a"); refreshed || f.calls != 3 {
		t.Fatalf("after RefreshEvery: refreshed=%v (value unchanged, want false), calls %d want 3", refreshed, f.calls)
	}
	// The team removes the old secret: gone once the TTL has passed.
	f.values["/a"] = "new"
	now = now.Add(5 * time.Minute)
	if v, _ := s.Get(ctx, "/a"); strings.Join(v, " ") != "new" {
		t.Fatalf("after the TTL the removed secret is still active: %v", v)
	}
}
