// Package secrets reads the values of sym_secret entries from AWS Secrets
// Manager, through the runtime connector role of the secrets source's
// permission context (the aws/secretsmgr addon lets that role read only
// secrets tagged SymEnv=<environment>).
//
// The server checks the tag itself as well, and refuses an untagged or
// wrongly tagged secret with a message naming the tag. Values live only in
// this package's memory, for a short time: they must never be written to the
// database, a log line, the audit log or an API answer, and no error of this
// package carries one.
//
// Any integration setting that names a secret resolves through Resolver:
// Value for a sym_secret id (or path), Setting for a settings map whose key
// holds such an id (a Slack integration's bot token, an HTTP destination's
// Authorization header).
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

// SourceType is the only secrets source type: AWS Secrets Manager.
const SourceType = "aws_secrets_manager"

// DefaultTTL is how long a value is kept in memory.
const DefaultTTL = time.Minute

// RefusedError says that the server will not use a secret: its tag does
// not name the environment, or it is not a secret sym may read.
type RefusedError struct {
	Secret string // the sym_secret's path
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("secret %s refused: %s", e.Secret, e.Reason)
}

// IsRefused reports a *RefusedError.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// Resolver reads secret values and caches them briefly in memory.
type Resolver struct {
	st    *store.Store
	chain *awsauth.Chain
	// TTL is how long a value stays cached (DefaultTTL when zero). Any
	// change to an entity forgets every cached value.
	TTL time.Duration
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	value string
	gen   int64
	at    time.Time
}

// New builds a resolver reading entities from st and reaching AWS through
// chain.
func New(st *store.Store, chain *awsauth.Chain) *Resolver {
	return &Resolver{st: st, chain: chain, TTL: DefaultTTL, Now: time.Now, cache: map[string]cached{}}
}

// Setting resolves the secret a settings map names under key: its value is
// the id (or path) of a sym_secret. ok is false when the key is absent or
// empty.
func (r *Resolver) Setting(ctx context.Context, settings map[string]string, key string) (value string, ok bool, err error) {
	ref := strings.TrimSpace(settings[key])
	if ref == "" {
		return "", false, nil
	}
	v, err := r.Value(ctx, ref)
	if err != nil {
		return "", true, fmt.Errorf("settings.%s: %w", key, err)
	}
	return v, true, nil
}

// Value answers the value of a sym_secret, given its id or its path. With
// settings.json_key the secret must be a JSON object and the answer is that
// key's value.
func (r *Resolver) Value(ctx context.Context, ref string) (string, error) {
	gen := r.st.EntityGeneration()
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	r.mu.Lock()
	c, hit := r.cache[ref]
	r.mu.Unlock()
	if hit && c.gen == gen && r.Now().Sub(c.at) < ttl {
		return c.value, nil
	}
	v, err := r.read(ctx, ref)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.cache[ref] = cached{value: v, gen: gen, at: r.Now()}
	r.mu.Unlock()
	return v, nil
}

// Forget drops every cached value.
func (r *Resolver) Forget() {
	r.mu.Lock()
	r.cache = map[string]cached{}
	r.mu.Unlock()
}

// Source is what reading a secret goes through: the secrets source, its
// runtime connector, and the environments whose tag the secret may carry.
type Source struct {
	Secret       *model.Secret
	Runtime      awsauth.Runtime
	TagName      string
	Environments []string // names of the environments running on that runtime
}

// Resolve follows a sym_secret to the runtime it is read through, and says
// in words what is missing.
func (r *Resolver) Resolve(ctx context.Context, ref string) (*Source, error) {
	row, err := r.st.GetEntity(ctx, "secrets", ref)
	if err != nil {
		rows, ferr := r.st.FindEntities(ctx, "secrets", ref, "")
		if ferr != nil {
			return nil, ferr
		}
		if len(rows) != 1 {
			return nil, fmt.Errorf("no secret with id or path %q", ref)
		}
		row = &rows[0]
	}
	s := &Source{Secret: model.DecodeSecret(row.ID, row.Body)}
	path := s.Secret.Path
	srcRow, err := r.st.GetEntity(ctx, "secret-sources", s.Secret.SourceID)
	if err != nil {
		return nil, fmt.Errorf("secret %s: its secrets source %s does not exist", path, s.Secret.SourceID)
	}
	src, errs := model.DecodeSecretSource(srcRow.ID, srcRow.Body)
	if src.Type != SourceType {
		return nil, fmt.Errorf("secret %s: secrets source %s is of type %q; only %s can be read", path, src.Slug, src.Type, SourceType)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("secret %s: secrets source %s: %s", path, src.Slug, errs[0])
	}
	s.TagName = src.TagName
	integRow, err := r.st.GetEntity(ctx, "integrations", src.ContextID)
	if err != nil {
		return nil, fmt.Errorf("secret %s: secrets source %s names permission context %s, which does not exist", path, src.Slug, src.ContextID)
	}
	integ, errs := model.DecodeIntegration(integRow.ID, integRow.Body)
	if integ.AWS == nil || len(errs) > 0 {
		return nil, fmt.Errorf("secret %s: integration %s is not an AWS permission context", path, integ.Slug)
	}
	s.Runtime = awsauth.RuntimeOf(integ.AWS)
	runtimes, err := r.st.FindEntities(ctx, "runtimes", "", "")
	if err != nil {
		return nil, err
	}
	envs, err := r.st.FindEntities(ctx, "environments", "", "")
	if err != nil {
		return nil, err
	}
	for _, rtRow := range runtimes {
		rt := model.DecodeRuntime(rtRow.ID, rtRow.Body)
		if rt.ContextID != integ.ID {
			continue
		}
		for _, envRow := range envs {
			if env := model.DecodeEnvironment(envRow.ID, envRow.Body); env.RuntimeID == rt.ID {
				s.Environments = append(s.Environments, env.Slug)
			}
		}
	}
	if len(s.Environments) == 0 {
		return nil, fmt.Errorf("secret %s: permission context %s is not the runtime of any environment, so no %s tag can be checked",
			path, integ.Slug, s.TagName)
	}
	sort.Strings(s.Environments)
	return s, nil
}

func (r *Resolver) read(ctx context.Context, ref string) (string, error) {
	s, err := r.Resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	path := s.Secret.Path
	if err := r.chain.CheckResource(s.Runtime, path); err != nil {
		return "", fmt.Errorf("secret %s: %w", path, err)
	}
	cfg, err := r.chain.RuntimeConfig(s.Runtime)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", path, err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	desc, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(path)})
	if err != nil {
		return "", fmt.Errorf("describe secret %s: %w", path, err)
	}
	var tags []string
	found := ""
	for _, t := range desc.Tags {
		if aws.ToString(t.Key) == s.TagName {
			found = aws.ToString(t.Value)
		}
		tags = append(tags, aws.ToString(t.Key))
	}
	want := strings.Join(s.Environments, " or ")
	switch {
	case found == "" && !slices.Contains(tags, s.TagName):
		return "", &RefusedError{path, fmt.Sprintf("it has no %s tag; sym reads only secrets tagged %s=%s", s.TagName, s.TagName, want)}
	case !slices.Contains(s.Environments, found):
		return "", &RefusedError{path, fmt.Sprintf("it is tagged %s=%s; sym reads only secrets tagged %s=%s", s.TagName, found, s.TagName, want)}
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(path)})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", path, err)
	}
	if out.SecretString == nil {
		return "", &RefusedError{path, "it holds binary data; sym reads only text secrets"}
	}
	return pickKey(path, *out.SecretString, s.Secret.JSONKey)
}

// pickKey answers the whole value, or one key of a JSON object. Its errors
// never quote the value.
func pickKey(path, value, key string) (string, error) {
	if key == "" {
		return value, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(value), &obj); err != nil {
		return "", fmt.Errorf("secret %s: settings.json_key is %q but the secret is not a JSON object", path, key)
	}
	v, ok := obj[key]
	if !ok {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "", fmt.Errorf("secret %s has no key %q (its keys: %s)", path, key, strings.Join(keys, ", "))
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case nil:
		return "", nil
	default:
		b, _ := json.Marshal(t)
		return string(b), nil
	}
}
