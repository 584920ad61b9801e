package export_torvyn_streaming_source

import (
	"errors"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"torvyn.dev/sdk/torvyn"
	glue "wit_component/torvyn_glue"
	S "wit_component/torvyn_streaming_source"
	T "wit_component/torvyn_streaming_types"
)

func Pull() witTypes.Result[S.Pulled, T.ProcessError] {
	r, err := pull()
	return glue.Result(r, err)
}

func pull() (r S.Pulled, err error) {
	defer glue.Recover(&err)
	out, err := glue.Instance[torvyn.Source]().Pull()
	var pending *torvyn.PendingError
	switch {
	case errors.Is(err, torvyn.ErrExhausted):
		return S.MakePulledExhausted(), nil
	case errors.As(err, &pending):
		return S.MakePulledPending(uint64(max(pending.After, 0))), nil
	case err != nil:
		return r, err
	case out == nil:
		return S.MakePulledPending(0), nil
	}
	o, err := glue.Output(out, T.ElementMeta{})
	if err != nil {
		return r, err
	}
	return S.MakePulledElement(o), nil
}

func Notify(signal T.BackpressureSignal) {
	defer func() { _ = recover() }()
	if n, ok := glue.Instance[torvyn.Source]().(torvyn.Notifier); ok {
		n.Notify(signal == T.BackpressureSignal_Pause)
	}
}
