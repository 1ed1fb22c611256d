// Package nodepeer prepares the npm packages tests run as real peers of what
// they cannot reach (DESIGN.md §7.6): the senders' signing libraries, a
// Velocity engine for API Gateway's mapping templates, dynalite for DynamoDB,
// fauxqs for SQS, s3rver for S3.
// Each peer lives in a test's testdata folder with a package.json and a
// committed package-lock.json; node_modules is installed on first use.
package nodepeer

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/testing/harness"
)

// Node returns the node binary after making sure dir's packages are
// installed (npm ci from the lock file, under a lock so parallel tests
// install once). Without node or npm the test skips, unless
// HOOKLINE_REQUIRE_NODE=1 (make test sets it), where it fails.
func Node(t testing.TB, dir string) string {
	t.Helper()
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if nodeErr != nil || npmErr != nil {
		if os.Getenv("HOOKLINE_REQUIRE_NODE") == "1" {
			t.Fatal("node and npm are required (HOOKLINE_REQUIRE_NODE=1)")
		}
		t.Skip("node or npm not on PATH: the npm peer in " + dir + " cannot run")
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".npm-install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return node
}

// Dynalite starts dynalite (npm; a DynamoDB implementation that evaluates
// condition expressions) in memory on a loopback port for the test, and
// returns its endpoint URL. It stops when the test ends.
func Dynalite(t testing.TB) string { return start(t, "dynalite") }

// Fauxqs starts fauxqs (npm; an SQS emulator with FIFO group locking,
// visibility changes and DLQs) on a loopback port for the test, and returns
// its endpoint URL. It stops when the test ends.
func Fauxqs(t testing.TB) string { return start(t, "fauxqs") }

// S3rver starts s3rver (npm; an S3 emulator: buckets, PutObject, GetObject,
// ListObjectsV2 with prefixes and continuation tokens) on a loopback port
// for the test, its buckets in a temporary directory, and returns its
// endpoint URL. It stops when the test ends. It takes the access key the
// other fakes take ("local"); clients must use path-style addressing.
func S3rver(t testing.TB) string { return start(t, "s3rver", t.TempDir()) }

// S3Client is an S3 client of the s3rver at endpoint: path-style, the
// "local" key, a new connection per request (harness.FreshConnections) and
// every S3 error met on its first attempt.
func S3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:  harness.FreshConnections(), Retryer: harness.ConnectionRetries(3),
	})
}

// Bucket starts s3rver with one empty bucket and returns a client of it.
func Bucket(t testing.TB, name string) *s3.Client {
	t.Helper()
	client := S3Client(S3rver(t))
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s in s3rver: %v", name, err)
	}
	return client
}

// start runs the peer in dir's start.mjs with args, which prints its port
// as the first line and serves until its stdin closes.
func start(t testing.TB, name string, args ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), name)
	node := Node(t, dir)
	cmd := exec.Command(node, append([]string{"start.mjs"}, args...)...)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s did not start: %v\n%s", name, err, stderr.String())
	}
	return "http://127.0.0.1:" + strings.TrimSpace(port)
}

// DynamoDB starts dynalite and returns its endpoint URL and a client for
// it (any region; dynalite wants a signed request, and any key signs).
func DynamoDB(t testing.TB) (string, *dynamodb.Client) {
	t.Helper()
	endpoint := Dynalite(t)
	return endpoint, dynamodb.New(dynamodb.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(endpoint),
		// Every DynamoDB error on its first attempt, a broken connection
		// retried (see harness.ConnectionRetries).
		Retryer:     harness.ConnectionRetries(3),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// IdempotencyTable starts dynalite and creates a table named name with the
// schema the program gives a source's idempotency table (partition key
// contract.IdempotencyKey, a string), and returns a client for it.
func IdempotencyTable(t testing.TB, name string) *dynamodb.Client {
	t.Helper()
	_, client := DynamoDB(t)
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(contract.IdempotencyKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(contract.IdempotencyKey), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("create table %s in dynalite: %v", name, err)
	}
	return client
}
