// Package harness is what hookline's tests share: the project's root, the
// binaries they run (built once per `go test` run, before any deadline), and
// the engine tests' prerequisites (the Pulumi CLI, the test-double AWS
// provider, the policy pack). Only tests import anything under
// internal/testing; nothing in it is shipped.
package harness
