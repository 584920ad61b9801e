// Package {{name}} is a Torvyn router in Go. Even sequence numbers go to
// port "even", odd ones to "odd".
package {{name}}

import "torvyn.dev/sdk/torvyn"

type {{Name}} struct{ torvyn.Base }

func ({{Name}}) Ports() []string { return []string{"even", "odd"} }

func ({{Name}}) Route(e *torvyn.Element) ([]string, error) {
	if e.Sequence()%2 == 0 {
		return []string{"even"}, nil
	}
	return []string{"odd"}, nil
}

func init() { torvyn.ExportRouter({{Name}}{}) }
