# Torvyn — the two commands of the Quick start, and a few more.
#   make demo   installs what is missing, builds, runs the hello pipeline
#   make test   installs what is missing, builds, runs the whole test suite
SHELL := /bin/bash
BUILD ?= build
BUILD_ASAN ?= build-asan
CMAKE_FLAGS ?=
ENV := source scripts/env.sh &&

.PHONY: all setup build demo test test-asan examples bench clean format

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja: CMakeLists.txt | setup
	@$(ENV) cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: setup $(BUILD)/build.ninja
	@$(ENV) cmake --build $(BUILD)

demo: build
	@$(ENV) $(BUILD)/bin/torvyn run examples/hello --component-path $(BUILD)/components

examples: build
	@$(ENV) for ex in hello filter fan-out backpressure aggregate; do \
	  echo "== examples/$$ex"; $(BUILD)/bin/torvyn run examples/$$ex --component-path $(BUILD)/components || exit 1; done

test: build
	@$(ENV) ctest --test-dir $(BUILD) --output-on-failure -j2

# The benchmark suite; writes docs/benchmarks.md and docs/bench-report.html.
bench: build
	@$(ENV) bench/run.sh $(CURDIR)/$(BUILD)

# Host built with AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: setup
	@$(ENV) cmake -S . -B $(BUILD_ASAN) -G Ninja -DTORVYN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	@$(ENV) cmake --build $(BUILD_ASAN)
	@$(ENV) ctest --test-dir $(BUILD_ASAN) --output-on-failure -j2

format:
	@git ls-files '*.cpp' '*.hpp' '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
