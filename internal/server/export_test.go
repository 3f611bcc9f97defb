package server

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

var descRE = regexp.MustCompile(`fqName: ("(?:[^"\\]|\\.)*"), help: ("(?:[^"\\]|\\.)*")`)

// MetricHelp answers the help of every metric the server registered, by
// name: those registered through its registry, and those its Gather shows.
func MetricHelp(i *Instance) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range i.metrics.collectors {
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := descRE.FindStringSubmatch(d.String())
			if m == nil {
				return nil, fmt.Errorf("cannot read %s", d)
			}
			name, err := strconv.Unquote(m[1])
			if err != nil {
				return nil, err
			}
			if out[name], err = strconv.Unquote(m[2]); err != nil {
				return nil, err
			}
		}
	}
	fams, err := i.metrics.Gather()
	if err != nil {
		return nil, err
	}
	for _, f := range fams {
		out[f.GetName()] = f.GetHelp()
	}
	return out, nil
}
