// Package {{name}} is a Torvyn sink in Go. It counts what it is given; an
// empty payload is refused as invalid input (the node's on-error decides
// what follows).
package {{name}}

import "torvyn.dev/sdk/torvyn"

type {{Name}} struct {
	torvyn.Base
	received uint64
}

func (s *{{Name}}) Push(e *torvyn.Element) (torvyn.Signal, error) {
	if e.Size() == 0 {
		return torvyn.Ready, torvyn.InvalidInput("empty element")
	}
	s.received++
	return torvyn.Ready, nil // torvyn.Pause would ask the host to hold elements
}

func (s *{{Name}}) Complete() error { return nil }

func init() { torvyn.ExportSink(&{{Name}}{}) }
