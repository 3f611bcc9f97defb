package logdest

// The helpers of this package's tests, for the tests of package
// logdest_test (aws_test.go), which reach moto through testenv.
var (
	MustCreate = mustCreate
	WaitUntil  = waitUntil
)
