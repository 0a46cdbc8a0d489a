# soclash: `make test` builds the sample roots with the C compiler and runs
# every test; `make bench` measures against ldd, ld.so --list and scanelf.

CARGO ?= cargo
ROOTS := $(abspath target/sample-roots)

.PHONY: all build test lint sample-libs bench clean

all: build

build:
	$(CARGO) build --release

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

sample-libs:
	$(MAKE) -C sample-libs OUT=$(ROOTS)

test: lint sample-libs
	$(CARGO) test --all-targets

bench: build
	bench/bench.sh

clean:
	$(MAKE) -C sample-libs OUT=$(ROOTS) clean
	$(CARGO) clean
