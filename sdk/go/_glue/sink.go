package export_torvyn_streaming_sink

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"torvyn.dev/sdk/torvyn"
	glue "wit_component/torvyn_glue"
	T "wit_component/torvyn_streaming_types"
)

func Push(se T.StreamElement) witTypes.Result[T.BackpressureSignal, T.ProcessError] {
	r, err := push(se)
	return glue.Result(r, err)
}

func push(se T.StreamElement) (r T.BackpressureSignal, err error) {
	e := glue.Lend(se)
	defer glue.Return(se, e)
	defer glue.Recover(&err)
	s, err := glue.Instance[torvyn.Sink]().Push(e)
	if s == torvyn.Pause {
		return T.BackpressureSignal_Pause, err
	}
	return T.BackpressureSignal_Ready, err
}

func Complete() witTypes.Result[witTypes.Unit, T.ProcessError] {
	return glue.Unit(complete())
}

func complete() (err error) {
	defer glue.Recover(&err)
	return glue.Instance[torvyn.Sink]().Complete()
}
