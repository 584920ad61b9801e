// Package {{name}} is a Torvyn source in Go. It emits "{{name}} 0",
// "{{name}} 1", ... (config "count=N", default 5), then ends.
package {{name}}

import (
	"strconv"

	"torvyn.dev/sdk/torvyn"
)

type {{Name}} struct {
	torvyn.Base
	next, count uint64
}

func (s *{{Name}}) Init(config string) (err error) {
	s.count, err = torvyn.Config(config).Uint64("count", 5)
	return err
}

func (s *{{Name}}) Pull() (*torvyn.Output, error) {
	if s.next == s.count {
		return nil, torvyn.ErrExhausted
	}
	s.next++
	text := "{{name}} " + strconv.FormatUint(s.next-1, 10)
	return &torvyn.Output{Payload: []byte(text), ContentType: "text/plain"}, nil
}

func init() { torvyn.ExportSource(&{{Name}}{}) }
