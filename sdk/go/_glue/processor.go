package export_torvyn_streaming_processor

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"torvyn.dev/sdk/torvyn"
	glue "wit_component/torvyn_glue"
	P "wit_component/torvyn_streaming_processor"
	T "wit_component/torvyn_streaming_types"
)

func Process(se T.StreamElement) witTypes.Result[P.ProcessResult, T.ProcessError] {
	r, err := process(se)
	return glue.Result(r, err)
}

func process(se T.StreamElement) (r P.ProcessResult, err error) {
	e := glue.Lend(se)
	defer glue.Return(se, e)
	defer glue.Recover(&err)
	out, err := glue.Instance[torvyn.Processor]().Process(e)
	if err != nil {
		return r, err
	}
	if out == nil {
		return P.MakeProcessResultDrop(), nil
	}
	o, err := glue.Output(out, se.Meta)
	if err != nil {
		return r, err
	}
	return P.MakeProcessResultEmit(o), nil
}
