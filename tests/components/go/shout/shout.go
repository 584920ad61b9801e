// Package shout is a Torvyn processor in Go: ASCII letters upper-cased and
// "!" appended (examples/hello's shout, in Go).
package shout

import "torvyn.dev/sdk/torvyn"

type Shout struct{ torvyn.Base }

func (Shout) Process(e *torvyn.Element) (*torvyn.Output, error) {
	text := e.Bytes()
	for i, c := range text {
		if 'a' <= c && c <= 'z' {
			text[i] = c - 'a' + 'A'
		}
	}
	return &torvyn.Output{Payload: append(text, '!'), ContentType: "text/plain"}, nil
}

func init() { torvyn.ExportProcessor(Shout{}) }
