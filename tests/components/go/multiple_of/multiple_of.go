// Package multipleof is a Torvyn filter in Go: keeps decimal numbers that are
// multiples of `divisor` (config "divisor=N", default 3), like
// examples/filter's multiple_of. It copies the payload in to read it, and
// allocates no buffer: the host forwards kept elements unchanged.
package multipleof

import "torvyn.dev/sdk/torvyn"

type MultipleOf struct {
	torvyn.Base
	divisor uint64
}

func (m *MultipleOf) Init(config string) error {
	d, err := torvyn.Config(config).Uint64("divisor", 3)
	if err != nil {
		return err
	}
	if d == 0 {
		return torvyn.InvalidInput("divisor must be at least 1")
	}
	m.divisor = d
	return nil
}

func (m *MultipleOf) Accept(e *torvyn.Element) (bool, error) {
	var n uint64
	text := e.Bytes()
	if len(text) == 0 {
		return false, torvyn.InvalidInput("empty payload")
	}
	for _, c := range text {
		if c < '0' || c > '9' {
			return false, torvyn.InvalidInput("not a decimal number: %q", text)
		}
		n = n*10 + uint64(c-'0')
	}
	return n%m.divisor == 0, nil
}

func init() { torvyn.ExportFilter(&MultipleOf{}) }
