// Package testsupport holds what hookline's tests run in place of AWS. None
// of it is shipped: the program never imports it.
package testsupport
