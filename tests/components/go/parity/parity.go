// Package parity is a Torvyn router in Go: decimal numbers to port "even" or "odd" by their last digit.
package parity

import "torvyn.dev/sdk/torvyn"

type Parity struct{ torvyn.Base }

func (Parity) Ports() []string { return []string{"even", "odd"} }
func (Parity) Route(e *torvyn.Element) ([]string, error) {
	b := e.Bytes()
	if (b[len(b)-1]-'0')%2 == 0 {
		return []string{"even"}, nil
	}
	return []string{"odd"}, nil
}
func init() { torvyn.ExportRouter(Parity{}) }
