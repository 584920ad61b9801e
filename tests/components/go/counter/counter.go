// Package counter is a Torvyn source in Go: emits "1".."N" (config "count=N", default 10).
package counter

import (
	"strconv"

	"torvyn.dev/sdk/torvyn"
)

type Count struct {
	torvyn.Base
	n, max uint64
	paused bool
}

func (c *Count) Init(config string) (err error) {
	c.max, err = torvyn.Config(config).Uint64("count", 10)
	return err
}
func (c *Count) Notify(pause bool) { c.paused = pause }
func (c *Count) Pull() (*torvyn.Output, error) {
	if c.n == c.max {
		return nil, torvyn.ErrExhausted
	}
	c.n++
	return &torvyn.Output{Payload: []byte(strconv.FormatUint(c.n, 10)), ContentType: "text/plain"}, nil
}
func init() { torvyn.ExportSource(&Count{}) }
