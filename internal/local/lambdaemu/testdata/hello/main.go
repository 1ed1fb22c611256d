// Command hello is the yardstick Lambda function: aws-lambda-go and nothing
// else. The handler's cold start and size are measured against it.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, in struct{ Name string }) (string, error) {
		return "hello " + in.Name, nil
	})
}
