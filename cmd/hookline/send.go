package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	neturl "net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// sendFlags are hookline send's flags.
type sendFlags struct {
	stack, source, bodyPath, secret, url, apiKey, token, bearer string
	cognitoDomain, clientID, clientSecret, caFile, dir, output  string
	region                                                      string // the stack's aws:region: when the environment names none
	headers                                                     headerFlags
}

func newSendCmd() *cobra.Command {
	f := &sendFlags{}
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Sign a body with a source's scheme and POST it to the endpoint",
		Long: `send signs the body with the source's scheme (the secret from its SSM parameter,
or --secret), sets the event-id header the source dedups on and any --header
(the groupBy header), authenticates as the source's auth kind asks (API key,
token, Cognito access token, SigV4), POSTs to the source's URL and explains the
answer.

` + stackHelp + ` send reads the config (scheme, auth) and the outputs (URL,
API key) unless --url and --api-key give them.

Exit codes: 0 a 2xx answer; 1 an HTTP error (explained on stderr); 2 any other
error (a missing stack output, a refused TLS handshake).`,
		Example: `  hookline send --stack prod --source payments --body examples/stripe-event.json
  hookline send --stack prod --source partners --body examples/partner-event.json \
    --header X-Partner-Account=acme --header "Authorization=Bearer $ACCESS_TOKEN"
  hookline send --stack dev --source github --body examples/partner-event.json --header X-GitHub-Hook-ID=1 --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return codeOf(sendRun(f, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.stack, "stack", "dev", "stack whose config and outputs describe the source")
	fs.StringVar(&f.source, "source", "", "source name (required)")
	fs.StringVar(&f.bodyPath, "body", "", "file with the body, or - for stdin (required)")
	fs.StringVar(&f.secret, "secret", "", "signing secret (default: read from the source's SSM parameter)")
	fs.StringVar(&f.url, "url", "", "endpoint URL of the source (default: the stack output sources.<source>.url)")
	fs.StringVar(&f.apiKey, "api-key", "", "API key for apiKey sources (default: the stack output apiKeys.<source>)")
	fs.StringVar(&f.token, "token", "", "URL token for token sources (default: read from the source's token parameter in SSM)")
	fs.StringVar(&f.bearer, "bearer", "", "Cognito access token for cognito sources")
	fs.StringVar(&f.cognitoDomain, "cognito-domain", "", "user pool domain (https://<prefix>.auth.<region>.amazoncognito.com) to get an access token with the client-credentials flow")
	fs.StringVar(&f.clientID, "client-id", "", "app client id for --cognito-domain")
	fs.StringVar(&f.clientSecret, "client-secret", "", "app client secret for --cognito-domain")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of an extra CA to trust (a private or test endpoint)")
	fs.Var(&f.headers, "header", "extra header Name=Value (repeatable), e.g. the groupBy header")
	outputFlag(fs, &f.output, "json: status, statusCode, requestId, messageId, hint")
	dirFlag(fs, &f.dir)
	return cmd
}

// sendRun signs a body with the source's scheme and POSTs it to the
// endpoint, the way the real sender would: find the endpoint, authenticate
// as the source's auth kind asks, sign, post, explain the answer.
func sendRun(f *sendFlags, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline send: "+format+"\n", a...)
		return 2
	}
	if f.source == "" || f.bodyPath == "" {
		return fail("--source and --body are required")
	}
	if f.output != "table" && f.output != "json" {
		return fail("--output must be table or json, got %q", f.output)
	}
	projectDir, cfg, src, err := stackSource(f.dir, f.stack, f.source)
	if err != nil {
		return fail("%v", err)
	}
	body, err := readBody(f.bodyPath)
	if err != nil {
		return fail("%v", err)
	}
	if err := f.resolveEndpoint(projectDir, src); err != nil {
		return fail("%v", err)
	}
	f.region = cfg.Region
	if err := f.authenticate(src); err != nil {
		return fail("%v", err)
	}
	if err := f.readSigningSecret(src); err != nil {
		return fail("%v", err)
	}
	req, err := webhookRequest(src, f.headers, f.secret, body, time.Now(), func() string { return "evt_" + randHex(12) })
	if err != nil {
		return fail("%v", err)
	}
	if f.apiKey != "" {
		req.Headers["x-api-key"] = f.apiKey
	}
	resp, respBody, err := f.post(cfg, src, req)
	var hs *handshakeError
	switch {
	case errors.As(err, &hs):
		return fail("TLS handshake with %s failed: %v (the endpoint must present a valid certificate over TLS 1.2+; for a private CA use --ca-file)", hs.host, hs.err)
	case err != nil:
		return fail("%v", err)
	}
	return reportSend(stdout, stderr, f.output == "json", cfg, src, req, resp, respBody)
}

// sendReport is send's JSON.
type sendReport struct {
	Status     string `json:"status"`
	StatusCode int    `json:"statusCode"`
	RequestID  string `json:"requestId"`
	MessageID  string `json:"messageId,omitempty"`
	// Hint says what a failed answer most likely means for this source.
	Hint string `json:"hint,omitempty"`
}

// resolveEndpoint fills in the source's URL and, for an apiKey source, its
// key from the deployed stack's outputs, when the flags do not give them.
func (f *sendFlags) resolveEndpoint(projectDir string, src *stackconfig.Source) error {
	var outs *stackoutputs.Stack
	outputs := func() (*stackoutputs.Stack, error) {
		if outs == nil {
			o, err := stackOutputs(projectDir, f.stack)
			if err != nil {
				return nil, err
			}
			outs = o
		}
		return outs, nil
	}
	if f.url == "" {
		o, err := outputs()
		if err != nil {
			return fmt.Errorf("%w (or pass --url)", err)
		}
		deployed, err := o.Source(f.source)
		if err != nil {
			return fmt.Errorf("%w (or pass --url)", err)
		}
		if f.url, err = requiredOutput(f.source, stackoutputs.KeyURL, deployed.URL); err != nil {
			return fmt.Errorf("%w (or pass --url)", err)
		}
	}
	if src.Auth.Type == stackconfig.AuthAPIKey && f.apiKey == "" {
		o, err := outputs()
		if err != nil {
			return fmt.Errorf("source %s needs an API key: %w (or pass --api-key)", f.source, err)
		}
		if f.apiKey = o.APIKeys[f.source]; f.apiKey == "" {
			return fmt.Errorf("source %s needs an API key and the stack has no output apiKeys.%s (pass --api-key)", f.source, f.source)
		}
	}
	return nil
}

// authenticate gets what the source's auth kind needs beyond the API key:
// the token in the URL, or a Cognito access token. SigV4 for IAM is added
// to the request itself (post); signature sources need only the signature.
func (f *sendFlags) authenticate(src *stackconfig.Source) error {
	switch src.Auth.Type {
	case stackconfig.AuthToken:
		if f.token == "" {
			t, err := readSSMSecret(f.region, src.Auth.TokenParameter)
			if err != nil {
				return fmt.Errorf("source %s takes a token in its URL: read %s: %w (or pass --token)", f.source, src.Auth.TokenParameter, err)
			}
			f.token = t
		}
		u, err := withToken(f.url, f.token)
		if err != nil {
			return err
		}
		f.url = u
	case stackconfig.AuthCognito:
		if f.bearer == "" && f.cognitoDomain != "" {
			t, err := clientCredentials(f.cognitoDomain, f.clientID, f.clientSecret, src.Auth.Scopes, f.caFile)
			if err != nil {
				return fmt.Errorf("Cognito client-credentials flow: %w", err)
			}
			f.bearer = t
		}
		if f.bearer != "" {
			f.headers = append(f.headers, "Authorization=Bearer "+f.bearer)
		}
		if !f.headers.has("Authorization") {
			return fmt.Errorf("source %s authenticates with Cognito: pass --bearer <access token>, or --cognito-domain with --client-id and --client-secret", f.source)
		}
	}
	return nil
}

// readSigningSecret reads the source's signing secret from SSM unless
// --secret gives it (a source of scheme none signs nothing).
func (f *sendFlags) readSigningSecret(src *stackconfig.Source) error {
	if f.secret != "" || src.Signature.Scheme == contract.SchemeNone {
		return nil
	}
	s, err := readSSMSecret(f.region, src.Signature.SecretParameter)
	if err != nil {
		return fmt.Errorf("read the signing secret %s: %w (or pass --secret)", src.Signature.SecretParameter, err)
	}
	f.secret = s
	return nil
}

// handshakeError is a failed TLS handshake with the endpoint (an untrusted
// or invalid certificate, no TLS 1.2, not TLS at all), told apart by where
// it happened rather than by its text.
type handshakeError struct {
	host string
	err  error
}

// Error names the endpoint and the handshake's own error.
func (e *handshakeError) Error() string { return "TLS handshake with " + e.host + ": " + e.err.Error() }

// Unwrap is the handshake's own error.
func (e *handshakeError) Unwrap() error { return e.err }

// post sends the request, signed with SigV4 for an IAM source, and returns
// the answer with up to 64 KiB of its body. A failed TLS handshake is a
// *handshakeError.
func (f *sendFlags) post(cfg *stackconfig.Config, src *stackconfig.Source, req contract.Request) (*http.Response, []byte, error) {
	client, err := httpClient(f.caFile)
	if err != nil {
		return nil, nil, err
	}
	// The trace sees the handshake fail, whatever its error says; it may
	// run on the transport's dialing goroutine, hence the atomic.
	var handshakeFailed atomic.Bool
	trace := &httptrace.ClientTrace{TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
		if err != nil {
			handshakeFailed.Store(true)
		}
	}}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), 30*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(req.Body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	if src.Auth.Type == stackconfig.AuthIAM {
		if err := signV4(ctx, hreq, req.Body, regionOf(hreq.URL.Host, cfg.Region)); err != nil {
			return nil, nil, fmt.Errorf("source %s authenticates with IAM: SigV4: %w", f.source, err)
		}
	}
	resp, err := client.Do(hreq)
	if err != nil {
		var certErr *tls.CertificateVerificationError
		if handshakeFailed.Load() || errors.As(err, &certErr) {
			return nil, nil, &handshakeError{host: hreq.URL.Host, err: err}
		}
		return nil, nil, fmt.Errorf("POST %s: %w", f.url, err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp, respBody, nil
}

// reportSend prints the endpoint's answer (status, request and message ids)
// and, for a failure, what it most likely means for this source; the exit
// code is 0 for a 2xx answer, else 1.
func reportSend(stdout, stderr io.Writer, asJSON bool, cfg *stackconfig.Config, src *stackconfig.Source, req contract.Request, resp *http.Response, respBody []byte) int {
	r := parseSendResponse(respBody)
	if r.RequestID == "" {
		r.RequestID = resp.Header.Get("x-amzn-RequestId")
	}
	rep := sendReport{Status: resp.Status, StatusCode: resp.StatusCode, RequestID: r.RequestID, MessageID: r.MessageID}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if !ok {
		rep.Hint = sendHint(cfg, src, req, resp, respBody)
	}
	if asJSON {
		_ = writeJSON(stdout, rep)
	} else {
		fmt.Fprintf(stdout, "status:     %s\nrequest id: %s\n", resp.Status, r.RequestID)
		if r.MessageID != "" {
			fmt.Fprintf(stdout, "message id: %s\n", r.MessageID)
		}
	}
	if ok {
		return 0
	}
	fmt.Fprintf(stderr, "hookline send: %s: %s\n", resp.Status, rep.Hint)
	return 1
}

// sendHint is what a failed answer most likely means for this source.
func sendHint(cfg *stackconfig.Config, src *stackconfig.Source, req contract.Request, resp *http.Response, respBody []byte) string {
	hint := map[int]string{
		401: "not authenticated: check the API key, IAM signature or Cognito token of the source",
		403: "forbidden: the API key, IAM identity or token is not allowed on this route",
		413: "the body is too large for an SQS message (see the ingest contract's size limit)",
		415: fmt.Sprintf("content type %q not accepted; source %s accepts %s", req.Headers["Content-Type"], src.Name, strings.Join(src.ContentTypes, ", ")),
		429: "throttled: the stage, method or usage plan rate was exceeded; retry later",
	}[resp.StatusCode]
	if cfg.HTTP() && resp.StatusCode >= 500 {
		hint = fmt.Sprintf("the HTTP API could not queue the webhook: every value its mapping names must be in the request (headers %s), and values SQS refuses as group or deduplication ids are not rewritten; the access log's integrationErrorMessage says which",
			strings.Join(src.Spec().HTTPRequiredHeaders(), ", "))
	}
	if hint == "" {
		hint = strings.TrimSpace(string(respBody))
	}
	return hint
}

func httpClient(caFile string) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read --ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, Proxy: http.ProxyFromEnvironment}}, nil
}

func readSSMSecret(region, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cfg, err := awsConfig(ctx, region)
	if err != nil {
		return "", err
	}
	out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", err
	}
	secrets := signature.ParseSecrets(aws.ToString(out.Parameter.Value))
	if len(secrets) == 0 {
		return "", errors.New("the parameter is empty")
	}
	return secrets[0], nil
}

// withToken adds a token source's ?token= to its URL.
func withToken(raw, token string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("--url %q: %v", raw, err)
	}
	q := u.Query()
	q.Set(contract.TokenQueryParameter, token)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// signV4 signs the request for API Gateway (execute-api) with the default
// AWS credentials, as an IAM source requires.
func signV4(ctx context.Context, req *http.Request, body []byte, region string) error {
	cfg, err := awsConfig(ctx, region)
	if err != nil {
		return err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return errNoCredentials
	}
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", region, time.Now())
}

// regionOf reads the region of an execute-api host, else returns def.
func regionOf(host, def string) string {
	parts := strings.Split(host, ".")
	if len(parts) >= 4 && parts[1] == "execute-api" {
		return parts[2]
	}
	return def
}

// clientCredentials gets an access token from a Cognito user pool domain's
// token endpoint with the OAuth 2.0 client-credentials grant.
func clientCredentials(domain, id, secret string, scopes []string, caFile string) (string, error) {
	if id == "" || secret == "" {
		return "", errors.New("--client-id and --client-secret are required with --cognito-domain")
	}
	client, err := httpClient(caFile)
	if err != nil {
		return "", err
	}
	form := neturl.Values{"grant_type": {"client_credentials"}, "client_id": {id}}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(domain, "/")+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&tok)
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %s %s", resp.Status, tok.Error)
	}
	return tok.AccessToken, nil
}

// sendResponse is what send reads from an answer: a REST API's JSON
// ({"status","messageId","requestId","error"}) or, behind an HTTP API, SQS's
// own SendMessage answer, in its JSON protocol ({"MessageId": ...}) or its
// query protocol's XML (<SendMessageResponse>...<MessageId>).
type sendResponse struct{ Status, MessageID, RequestID, Error string }

func parseSendResponse(body []byte) sendResponse {
	var r sendResponse
	if json.Unmarshal(body, &r) == nil { // field names match case-insensitively: MessageId too
		return r
	}
	var x struct {
		MessageID string `xml:"SendMessageResult>MessageId"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
		Error     string `xml:"Error>Message"`
	}
	if xml.Unmarshal(body, &x) == nil {
		r.MessageID, r.RequestID, r.Error = x.MessageID, x.RequestID, x.Error
	}
	return r
}
