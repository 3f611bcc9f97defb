package awsauth

import (
	"fmt"
	"strings"
)

// DefaultGroupPath is the IAM path groups sym adds users to must be under
// unless the server is told otherwise (--allowed-group-paths).
const DefaultGroupPath = ConnectorPath

// Guards are the guard rails the server is started with: the entities
// cannot move them. The zero value allows groups under /sym/ only and sets
// no other limit.
type Guards struct {
	// GroupPaths are the IAM paths (prefixes ending in /) of the groups
	// sym may add users to (--allowed-group-paths); empty: /sym/.
	GroupPaths []string
}

// AllowedGroupPaths is the effective list of allowed group paths.
func (g Guards) AllowedGroupPaths() []string {
	if len(g.GroupPaths) == 0 {
		return []string{DefaultGroupPath}
	}
	return g.GroupPaths
}

// ParseGroupPaths reads --allowed-group-paths: a comma list of IAM paths,
// each beginning and ending with /.
func ParseGroupPaths(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "..") || strings.ContainsAny(p, "*? ") {
			return nil, fmt.Errorf("--allowed-group-paths: %q is not an IAM path (it begins and ends with /, e.g. /sym/)", p)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--allowed-group-paths is empty: name at least one IAM path (default /sym/)")
	}
	return out, nil
}

// CheckGroupPath refuses an IAM group whose path is outside the allowed
// group paths: sym never adds anyone to it.
func (g Guards) CheckGroupPath(group, path string) error {
	for _, p := range g.AllowedGroupPaths() {
		if strings.HasPrefix(path, p) {
			return nil
		}
	}
	return &GuardError{fmt.Sprintf("IAM group %s has the path %s, outside --allowed-group-paths (%s): sym adds nobody to it",
		group, path, strings.Join(g.AllowedGroupPaths(), ","))}
}
