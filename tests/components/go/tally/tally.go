// Package tally is a Torvyn sink in Go: counts elements and bytes; an empty
// payload is invalid input; config "pause-every=N" asks the host to pause
// after every Nth element (0: never). It needs no grants: what it counts
// stays inside (a sink with output would need the stdout capability).
package tally

import "torvyn.dev/sdk/torvyn"

type Tally struct {
	pauseEvery uint64
	elements   uint64
	bytes      uint64
}

func (t *Tally) Init(config string) (err error) {
	t.pauseEvery, err = torvyn.Config(config).Uint64("pause-every", 0)
	return err
}

func (t *Tally) Push(e *torvyn.Element) (torvyn.Signal, error) {
	size := e.Size()
	if size == 0 {
		return torvyn.Ready, torvyn.InvalidInput("empty payload (element %d)", e.Sequence())
	}
	t.elements++
	t.bytes += size
	if t.pauseEvery != 0 && t.elements%t.pauseEvery == 0 {
		return torvyn.Pause, nil
	}
	return torvyn.Ready, nil
}

func (t *Tally) Complete() error {
	if t.elements == 0 {
		return torvyn.Internal("no elements arrived")
	}
	return nil
}

func (t *Tally) Teardown() {}

func init() { torvyn.ExportSink(&Tally{}) }
