# Torvyn — the two commands of the Quick start, and a few more.
#   make demo   installs what is missing, builds, runs the hello pipeline
#   make test   installs what is missing, builds, runs the whole test suite
SHELL := /bin/bash
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
SOAK_ELEMENTS ?= 10000000
CMAKE_FLAGS ?=
ENV := source scripts/env.sh &&

.PHONY: all setup build demo test test-asan test-tsan fuzz soak examples bench bench-nats bench-kafka clean format install

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
	@$(ENV) for ex in hello filter fan-out backpressure aggregate polyglot; do \
	  echo "== examples/$$ex"; $(BUILD)/bin/torvyn run examples/$$ex --component-path $(BUILD)/components || exit 1; done

test: build
	@$(ENV) ctest --test-dir $(BUILD) --output-on-failure -j2

# The CLI and the SDK's CMake package (find_package(Torvyn)) under PREFIX:
# PREFIX/bin/torvyn, PREFIX/share/torvyn/{cmake,wit,sdk}.
PREFIX ?= $(HOME)/.local
install: build
	@$(ENV) cmake --install $(BUILD) --prefix $(PREFIX)

# The benchmark suite; writes docs/benchmarks.md and docs/bench-report.html.
bench: build
	@$(ENV) bench/run.sh $(CURDIR)/$(BUILD)

# NATS JetStream scale-out: 1, 2 and 3 torvyn processes sharing one durable
# consumer on a local nats-server (bench/connectors/nats_scale.py; minutes).
NATS_MESSAGES ?= 50000
bench-nats: build
	@$(ENV) NATS_CLI="$$(scripts/natscli.sh)" python3 bench/connectors/nats_scale.py $(BUILD) $(NATS_MESSAGES)

# The Kafka connector's scale-out (1, 2, 3 processes in one consumer group)
# against Kafka's own perf tools, on a real broker: a report, not a test.
KAFKA_RECORDS ?= 100000
bench-kafka: build
	@$(ENV) TORVYN_KAFKA_ARTIFACT=kafka-tools scripts/kafka.sh >/dev/null
	@$(ENV) python3 bench/connectors/kafka_scale.py $(CURDIR)/$(BUILD) $(KAFKA_RECORDS)

# Host built with AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: setup
	@$(ENV) cmake -S . -B $(BUILD_ASAN) -G Ninja -DTORVYN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	@$(ENV) cmake --build $(BUILD_ASAN)
	@$(ENV) ctest --test-dir $(BUILD_ASAN) --output-on-failure -j2

# Host built with ThreadSanitizer. The Rust bridge, which stable Rust cannot
# instrument, is linked as a shared library whose accesses TSan ignores
# (ignore_noninstrumented_modules); Wasmtime leaves its trap signal handler
# by unwinding, which TSan would take for code running in a signal handler
# (report_signal_unsafe=0).
TSAN_OPTIONS_TORVYN := ignore_noninstrumented_modules=1 report_signal_unsafe=0
test-tsan: setup
	@$(ENV) cmake -S . -B $(BUILD_TSAN) -G Ninja -DTORVYN_TSAN=ON $(CMAKE_FLAGS)
	@$(ENV) cmake --build $(BUILD_TSAN)
	@$(ENV) TSAN_OPTIONS="$(TSAN_OPTIONS_TORVYN) $(TSAN_OPTIONS)" \
	  ctest --test-dir $(BUILD_TSAN) --output-on-failure -j2

# Every fuzz target for FUZZ_SECONDS (libFuzzer, ASan + UBSan, clang); the
# Rust bridge and Wasmtime carry coverage instrumentation too.
fuzz: build
	@bash scripts/setup.sh fuzz
	@$(ENV) CC=clang CXX=clang++ cmake -S . -B $(BUILD_FUZZ) -G Ninja -DTORVYN_FUZZ=ON $(CMAKE_FLAGS)
	@$(ENV) cmake --build $(BUILD_FUZZ)
	@$(ENV) bash tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

# SOAK_ELEMENTS (10^7) elements of 64 B and of 1 KiB with a trapping,
# restarting node; SIGTERM at a random moment; memory and leak checks.
soak: build
	@$(ENV) python3 tests/soak/soak.py $(BUILD)/bin/torvyn $(BUILD)/components \
	  $(BUILD)/test-components $(BUILD)/soak $(SOAK_ELEMENTS)

# Tracked files and new ones not yet added (what the style test will check
# once they are committed).
format:
	@git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ)
