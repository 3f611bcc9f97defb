package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Client talks to a sym server.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// NewClient builds a client for base (e.g. http://127.0.0.1:8420).
func NewClient(base, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// APIError is a non-2xx answer.
type APIError struct {
	Status    int
	Errors    []struct{ Field, Message string }
	RequestID string
}

func (e *APIError) Error() string {
	var parts []string
	for _, fe := range e.Errors {
		if fe.Field != "" {
			parts = append(parts, fe.Field+": "+fe.Message)
		} else {
			parts = append(parts, fe.Message)
		}
	}
	msg := strings.Join(parts, "; ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// UnreachableError is a server that did not answer at all.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach a sym server at %s (%v): is 'sym server' running there? Start it, or point SYM_API_URL (or --api-url) at it", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// NotSymError is an HTTP server at the URL that is not a sym server.
type NotSymError struct {
	URL    string
	Status int
}

func (e *NotSymError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d %s but is not a sym server (no sym API under /api/v1): check SYM_API_URL (or --api-url); 'sym server' prints its URL at start",
		e.URL, e.Status, http.StatusText(e.Status))
}

// StatusOf is the HTTP status of an *APIError, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// FieldOf is the field the first error of an *APIError names, or "".
func FieldOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) && len(ae.Errors) > 0 {
		return ae.Errors[0].Field
	}
	return ""
}

// Do sends a JSON request under /api/v1 and decodes the answer into out
// (which may be nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+"/api/v1"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Sym-Request-ID", uuid.NewString())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &UnreachableError{URL: c.BaseURL, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	// Every answer of a sym server carries X-Sym-Request-ID: without it, the
	// URL reaches some other HTTP server.
	if resp.Header.Get("X-Sym-Request-ID") == "" {
		return &NotSymError{URL: c.BaseURL, Status: resp.StatusCode}
	}
	if resp.StatusCode >= 300 {
		ae := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Sym-Request-ID")}
		var eb struct {
			Errors []struct{ Field, Message string } `json:"errors"`
		}
		if json.Unmarshal(data, &eb) == nil {
			ae.Errors = eb.Errors
		}
		return ae
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Query builds a path with a query string.
func Query(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
