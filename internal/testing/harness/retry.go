package harness

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// ConnectionRetries is the retryer for the tests' AWS clients that must meet
// every API error on its first attempt (an injected fault, a refused
// condition): it retries a broken connection only, up to attempts times in
// all, as the SDK's default retryer does in production. net/http can hand a
// request a keep-alive connection its idle timer is closing, and the read
// then fails with "use of closed network connection" after a 200
// (aws-sdk-go-v2#2737; the SDK retries it by default since #2949). A client
// with RetryMaxAttempts 1 failed the redrive fault test on it about once in
// eight runs.
func ConnectionRetries(attempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.RateLimiter = ratelimit.None
	})
}

// FreshConnections is an HTTP client for the tests' AWS clients that opens
// a new connection per request. A keep-alive connection whose idle timer
// closes it as a response arrives makes the SDK retry a request the server
// already carried out (aws-sdk-go-v2#2737): harmless for most calls, but a
// retried ReceiveMessage hides the batch the first answer carried, for the
// visibility timeout — a redrive test then moved 990 of 1,000 under load.
func FreshConnections() aws.HTTPClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.DisableKeepAlives = true })
}
