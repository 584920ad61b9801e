module torvyn.dev/sdk

go 1.25
