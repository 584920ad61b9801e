// Package {{name}} is a Torvyn filter in Go. It keeps elements with an even
// sequence number.
package {{name}}

import "torvyn.dev/sdk/torvyn"

type {{Name}} struct{ torvyn.Base }

func ({{Name}}) Accept(e *torvyn.Element) (bool, error) { return e.Sequence()%2 == 0, nil }

func init() { torvyn.ExportFilter({{Name}}{}) }
