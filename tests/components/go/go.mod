module torvyn.dev/tests/components/go

go 1.25

require torvyn.dev/sdk v0.0.0

replace torvyn.dev/sdk => ../../../sdk/go
