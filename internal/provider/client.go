package provider

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

// entity is one platform entity as the server sends it: a JSON object whose
// maps are maps of strings and whose lists are lists of strings.
type entity map[string]any

// client talks to the entities API of `sym server` (docs/api.md).
type client struct {
	baseURL string // like http://127.0.0.1:8420, without /api/v1
	token   string
	http    *http.Client
}

// apiError is a non-2xx answer of the server, with the messages of its body.
type apiError struct {
	Method    string
	URL       string
	Status    int
	RequestID string
	Messages  []fieldMessage
}

type fieldMessage struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	switch e.Status {
	case http.StatusUnauthorized:
		fmt.Fprintf(&b, "the sym server refused the token (401 Unauthorized) on %s %s", e.Method, e.URL)
		b.WriteString("; set SYM_JWT (or the variable named by jwt_env_var) to a valid token of this server")
	case http.StatusForbidden:
		fmt.Fprintf(&b, "the token may not do this (403 Forbidden) on %s %s", e.Method, e.URL)
		b.WriteString("; creating, changing and deleting entities needs a token of an admin")
	case http.StatusNotFound:
		fmt.Fprintf(&b, "not found (404) on %s %s", e.Method, e.URL)
	default:
		fmt.Fprintf(&b, "%s %s answered %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	}
	for _, m := range e.Messages {
		if m.Field != "" {
			fmt.Fprintf(&b, "\n  %s: %s", m.Field, m.Message)
		} else {
			fmt.Fprintf(&b, "\n  %s", m.Message)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, "\n(request id %s)", e.RequestID)
	}
	return b.String()
}

// isNotFound reports whether err is a 404 answer.
func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// isStillReferenced reports whether err is the server's refusal to delete
// an entity that another entity refers to (409, "still referenced by"),
// rather than another conflict (like a request that holds access).
func isStillReferenced(err error) bool {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		return false
	}
	for _, m := range ae.Messages {
		if strings.Contains(m.Message, "still referenced by") {
			return true
		}
	}
	return false
}

// unreachableError wraps a transport failure with what to check.
type unreachableError struct {
	baseURL string
	err     error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the sym server at %s: %v; check that `sym server` is running and that api_url (or SYM_API_URL) points at it", e.baseURL, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

func newClient(baseURL, token string) *client {
	return &client{
		baseURL: strings.TrimRight(baseURL, "/"),
		token:   token,
		http:    &http.Client{Timeout: 60 * time.Second},
	}
}

// do sends one request under /api/v1 and decodes a JSON answer into out
// (when out is not nil).
func (c *client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := c.baseURL + "/api/v1" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode the body of %s %s: %w", method, u, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, u, err)
	}
	requestID := uuid.NewString()
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Sym-Request-ID", requestID)
	resp, err := c.http.Do(req)
	if err != nil {
		return &unreachableError{baseURL: c.baseURL, err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return &unreachableError{baseURL: c.baseURL, err: fmt.Errorf("read the answer to %s %s: %w", method, u, err)}
	}
	if resp.StatusCode >= 300 {
		ae := &apiError{Method: method, URL: u, Status: resp.StatusCode, RequestID: requestID}
		var eb struct {
			Errors    []fieldMessage `json:"errors"`
			RequestID string         `json:"request_id"`
		}
		if json.Unmarshal(data, &eb) == nil {
			ae.Messages = eb.Errors
			if eb.RequestID != "" {
				ae.RequestID = eb.RequestID
			}
		} else if s := strings.TrimSpace(string(data)); s != "" {
			if len(s) > 500 {
				s = s[:500] + "..."
			}
			ae.Messages = []fieldMessage{{Message: s}}
		}
		return ae
	}
	if out == nil || resp.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode the answer to %s %s (request id %s): %w", method, u, requestID, err)
	}
	return nil
}

// org answers the organisation name the server was started with.
func (c *client) org(ctx context.Context) (string, error) {
	var out struct {
		Slug string `json:"slug"`
	}
	if err := c.do(ctx, http.MethodGet, "/org", nil, nil, &out); err != nil {
		return "", err
	}
	return out.Slug, nil
}

func (c *client) create(ctx context.Context, kind string, body entity) (entity, error) {
	var out entity
	if err := c.do(ctx, http.MethodPost, "/entities/"+kind, nil, body, &out); err != nil {
		return nil, err
	}
	if id, _ := out["id"].(string); id == "" {
		return nil, fmt.Errorf("the server answered the creation of %s without an id", kind)
	}
	return out, nil
}

// entityPath is /entities/<kind>/<id>, or /entities/<kind> for a singleton
// (id "").
func entityPath(kind, id string) string {
	if id == "" {
		return "/entities/" + kind
	}
	return "/entities/" + kind + "/" + url.PathEscape(id)
}

func (c *client) read(ctx context.Context, kind, id string) (entity, error) {
	var out entity
	if err := c.do(ctx, http.MethodGet, entityPath(kind, id), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *client) update(ctx context.Context, kind, id string, body entity) (entity, error) {
	var out entity
	if err := c.do(ctx, http.MethodPatch, entityPath(kind, id), nil, body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *client) delete(ctx context.Context, kind, id string) error {
	return c.do(ctx, http.MethodDelete, entityPath(kind, id), nil, nil, nil)
}

// lookup finds entities by name (case-insensitively, on the server) and
// optionally type. Empty slug lists every entity of the kind.
func (c *client) lookup(ctx context.Context, kind, slug, typ string) ([]entity, error) {
	q := url.Values{}
	if slug != "" {
		q.Set("slug", slug)
	}
	if typ != "" {
		q.Set("type", typ)
	}
	var out []entity
	if err := c.do(ctx, http.MethodGet, "/entities/"+kind, q, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// str reads a string field of an entity ("" when absent or not a string).
func (e entity) str(key string) string {
	s, _ := e[key].(string)
	return s
}

// strMap reads a map-of-strings field; non-string values are rendered as JSON.
func (e entity) strMap(key string) map[string]string {
	out := map[string]string{}
	m, _ := e[key].(map[string]any)
	for k, v := range m {
		out[k] = anyString(v)
	}
	return out
}

// strList reads a list-of-strings field.
func (e entity) strList(key string) []string {
	out := []string{}
	l, _ := e[key].([]any)
	for _, v := range l {
		out = append(out, anyString(v))
	}
	return out
}

func anyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
