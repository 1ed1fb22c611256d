package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

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

func TestGetCachesPerContainer(t *testing.T) {
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
