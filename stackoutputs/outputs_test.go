package stackoutputs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hookline/hookline/stackoutputs"
)

func TestDecode(t *testing.T) {
	outs := map[string]any{
		"environment": "dev", "region": "eu-west-1", "ingress": "rest", "endpoint": "https://hooks.example.com",
		"apiId": "abc", "restApiId": "abc", "invokeUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev", "stage": "dev",
		"apiKeys": map[string]any{"payments": "k"}, "alarmTopicArn": "arn:t", "dashboardName": "d",
		"sources": map[string]any{"payments": map[string]any{"url": "https://hooks.example.com/payments", "queueUrl": "q",
			"queueArn": "qa", "dlqUrl": "d", "dlqArn": "da", "functionName": "f", "auth": "apiKey"}},
	}
	s, err := stackoutputs.Decode(outs)
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.Source("payments")
	if err != nil || src.DLQURL != "d" || src.Auth != "apiKey" || s.APIKeys["payments"] != "k" || s.Ingress != "rest" {
		t.Fatalf("decoded %+v %+v %v", s, src, err)
	}
	_, err = s.Source("github")
	var no *stackoutputs.ErrNoSource
	if !errors.As(err, &no) || !strings.Contains(err.Error(), `no source "github" (it has payments)`) {
		t.Errorf("unknown source: %v", err)
	}
	outs["sourcez"] = map[string]any{}
	if _, err := stackoutputs.Decode(outs); err == nil || !strings.Contains(err.Error(), "sourcez") {
		t.Errorf("an unknown output is not named: %v", err)
	}
}
