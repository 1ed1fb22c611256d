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
	"flag"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/stackconfig"
	"github.com/hookline/hookline/stackoutputs"
)

// sendCmd signs a body with the source's scheme and POSTs it to the
// endpoint, the way the real sender would.
func sendCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack whose config and outputs describe the source")
	source := fs.String("source", "", "source name (required)")
	bodyPath := fs.String("body", "", "file with the body, or - for stdin (required)")
	secret := fs.String("secret", "", "signing secret (default: read from the source's SSM parameter)")
	url := fs.String("url", "", "endpoint URL of the source (default: the stack output sources.<source>.url)")
	apiKey := fs.String("api-key", "", "API key for apiKey sources (default: the stack output apiKeys.<source>)")
	token := fs.String("token", "", "URL token for token sources (default: read from the source's token parameter in SSM)")
	bearer := fs.String("bearer", "", "Cognito access token for cognito sources")
	cognitoDomain := fs.String("cognito-domain", "", "user pool domain (https://<prefix>.auth.<region>.amazoncognito.com) to get an access token with the client-credentials flow")
	clientID := fs.String("client-id", "", "app client id for --cognito-domain")
	clientSecret := fs.String("client-secret", "", "app client secret for --cognito-domain")
	caFile := fs.String("ca-file", "", "PEM file of an extra CA to trust (a private or test endpoint)")
	dir := fs.String("dir", "", "project directory (default: the nearest directory with Pulumi.yaml)")
	var headers headerFlags
	fs.Var(&headers, "header", "extra header Name=Value (repeatable), e.g. the groupBy header")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookline send: "+format+"\n", a...)
		return 2
	}
	if *source == "" || *bodyPath == "" {
		return fail("--source and --body are required")
	}
	projectDir, cfg, src, err := stackSource(*dir, *stack, *source)
	if err != nil {
		return fail("%v", err)
	}
	body, err := readBody(*bodyPath)
	if err != nil {
		return fail("%v", err)
	}

	var outs *stackoutputs.Stack
	outputs := func() (*stackoutputs.Stack, error) {
		if outs == nil {
			o, err := stackOutputs(projectDir, *stack)
			if err != nil {
				return nil, err
			}
			outs = o
		}
		return outs, nil
	}
	if *url == "" {
		o, err := outputs()
		if err != nil {
			return fail("%v (or pass --url)", err)
		}
		deployed, err := o.Source(*source)
		if err != nil {
			return fail("%v (or pass --url)", err)
		}
		if *url, err = requiredOutput(*source, stackoutputs.KeyURL, deployed.URL); err != nil {
			return fail("%v (or pass --url)", err)
		}
	}
	if src.Auth.Type == stackconfig.AuthAPIKey && *apiKey == "" {
		o, err := outputs()
		if err != nil {
			return fail("source %s needs an API key: %v (or pass --api-key)", *source, err)
		}
		if *apiKey = o.APIKeys[*source]; *apiKey == "" {
			return fail("source %s needs an API key and the stack has no output apiKeys.%s (pass --api-key)", *source, *source)
		}
	}
	// send speaks every auth kind: the API key header, the token in the
	// URL, a Cognito access token, SigV4 for IAM; signature sources need
	// nothing but the signature.
	switch src.Auth.Type {
	case stackconfig.AuthToken:
		if *token == "" {
			t, err := readSSMSecret(src.Auth.TokenParameter)
			if err != nil {
				return fail("source %s takes a token in its URL: read %s: %v (or pass --token)", *source, src.Auth.TokenParameter, err)
			}
			*token = t
		}
		u, err := withToken(*url, *token)
		if err != nil {
			return fail("%v", err)
		}
		*url = u
	case stackconfig.AuthCognito:
		if *bearer == "" && *cognitoDomain != "" {
			t, err := clientCredentials(*cognitoDomain, *clientID, *clientSecret, src.Auth.Scopes, *caFile)
			if err != nil {
				return fail("Cognito client-credentials flow: %v", err)
			}
			*bearer = t
		}
		if *bearer != "" {
			headers = append(headers, "Authorization=Bearer "+*bearer)
		}
		if !headers.has("Authorization") {
			return fail("source %s authenticates with Cognito: pass --bearer <access token>, or --cognito-domain with --client-id and --client-secret", *source)
		}
	}
	scheme := src.Signature.Scheme
	if *secret == "" && scheme != contract.SchemeNone {
		s, err := readSSMSecret(src.Signature.SecretParameter)
		if err != nil {
			return fail("read the signing secret %s: %v (or pass --secret)", src.Signature.SecretParameter, err)
		}
		*secret = s
	}

	h := map[string]string{"Content-Type": src.ContentTypes[0]}
	for _, kv := range headers {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fail("--header %q is not Name=Value", kv)
		}
		h[k] = v
	}
	req := contract.Request{Headers: h, Body: body}
	if src.EventID.Kind == contract.KindHeader && req.Select(src.EventID) == "" {
		h[src.EventID.Name] = "evt_" + randHex(12)
	}
	if err := sign(h, src.Signature, *secret, req.Select(src.EventID), time.Now(), body); err != nil {
		return fail("sign: %v", err)
	}
	if *apiKey != "" {
		h["x-api-key"] = *apiKey
	}

	client, err := httpClient(*caFile)
	if err != nil {
		return fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		return fail("%v", err)
	}
	for k, v := range h {
		hreq.Header.Set(k, v)
	}
	if src.Auth.Type == stackconfig.AuthIAM {
		if err := signV4(ctx, hreq, body, regionOf(hreq.URL.Host, cfg.Region)); err != nil {
			return fail("source %s authenticates with IAM: SigV4: %v", *source, err)
		}
	}
	resp, err := client.Do(hreq)
	if err != nil {
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) || strings.Contains(err.Error(), "tls:") {
			return fail("TLS handshake with %s failed: %v (the endpoint must present a valid certificate over TLS 1.2+; for a private CA use --ca-file)", hreq.URL.Host, err)
		}
		return fail("POST %s: %v", *url, err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	r := parseSendResponse(respBody)
	if r.RequestID == "" {
		r.RequestID = resp.Header.Get("x-amzn-RequestId")
	}
	fmt.Fprintf(stdout, "status:     %s\nrequest id: %s\n", resp.Status, r.RequestID)
	if r.MessageID != "" {
		fmt.Fprintf(stdout, "message id: %s\n", r.MessageID)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0
	}
	hint := map[int]string{
		401: "not authenticated: check the API key, IAM signature or Cognito token of the source",
		403: "forbidden: the API key, IAM identity or token is not allowed on this route",
		413: "the body is too large for an SQS message (see the ingest contract's size limit)",
		415: fmt.Sprintf("content type %q not accepted; source %s accepts %s", h["Content-Type"], *source, strings.Join(src.ContentTypes, ", ")),
		429: "throttled: the stage, method or usage plan rate was exceeded; retry later",
	}[resp.StatusCode]
	if cfg.HTTP() && resp.StatusCode >= 500 {
		hint = fmt.Sprintf("the HTTP API could not queue the webhook: every value its mapping names must be in the request (headers %s), and values SQS refuses as group or deduplication ids are not rewritten; the access log's integrationErrorMessage says which",
			strings.Join(src.Spec().HTTPRequiredHeaders(), ", "))
	}
	if hint == "" {
		hint = strings.TrimSpace(string(respBody))
	}
	fmt.Fprintf(stderr, "hookline send: %s: %s\n", resp.Status, hint)
	return 1
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

func readSSMSecret(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
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
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("no AWS credentials: %v", err)
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
