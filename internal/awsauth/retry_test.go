package awsauth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/opensym/sym/internal/awsauth"
)

// TestRetryBackoff: between the attempts of one AWS call, a 5xx answer
// waits on a short base (a removal should not wait seconds for an error
// that passes) and throttling on a long one; every wait stays under 5 s.
func TestRetryBackoff(t *testing.T) {
	r := awsauth.Retryer()
	// As the SDK sees a 500: an API error inside the HTTP response's error.
	serverErr := &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 500}},
		Err: &smithy.GenericAPIError{Code: "InternalFailure", Message: "boom"}}
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	for _, err := range []error{serverErr, throttled} {
		if !r.IsErrorRetryable(err) {
			t.Fatalf("%v is not retried", err)
		}
	}
	sample := func(attempt int, err error) (lo, hi time.Duration) {
		lo = time.Hour
		for range 2000 {
			d, e := r.RetryDelay(attempt, err)
			if e != nil {
				t.Fatal(e)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		return lo, hi
	}
	if lo, hi := sample(1, serverErr); hi > 100*time.Millisecond || hi < 50*time.Millisecond || lo < 0 {
		t.Errorf("first retry after a 5xx waits %v..%v, want within 0..100 ms (and spread over it)", lo, hi)
	}
	if _, hi := sample(2, serverErr); hi > 200*time.Millisecond {
		t.Errorf("second retry after a 5xx waits up to %v, want at most 200 ms", hi)
	}
	if _, hi := sample(1, throttled); hi > 2*time.Second || hi < time.Second {
		t.Errorf("first retry after throttling waits up to %v, want up to 2 s (and above 1 s at times)", hi)
	}
	for _, err := range []error{serverErr, throttled} {
		if _, hi := sample(12, err); hi > 5*time.Second || hi < 4*time.Second {
			t.Errorf("a late retry (%v) waits up to %v, want the 5 s cap", err, hi)
		}
	}
}
