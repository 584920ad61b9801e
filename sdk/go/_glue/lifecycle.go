package export_torvyn_streaming_lifecycle

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	glue "wit_component/torvyn_glue"
	T "wit_component/torvyn_streaming_types"
)

func Init(config string) witTypes.Result[witTypes.Unit, T.ProcessError] {
	return glue.Unit(glue.Init(config))
}

func Teardown() { glue.Teardown() }
