# soclash: `make test` builds the sample roots with the C compiler and runs
# every test; `make bench` measures against ldd, ld.so --list and scanelf.

CARGO ?= cargo
ROOTS := $(abspath target/sample-roots)
# Where cargo puts its builds (CARGO_TARGET_DIR, as cargo reads it).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN := $(TARGET_DIR)/release/soclash

.PHONY: all build test deps lint sample-libs venvs-root bench clean generated install deb deb-check ansible-venv realistic-root fuzz

all: build

build:
	$(CARGO) build --release

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

sample-libs:
	$(MAKE) -C sample-libs OUT=$(ROOTS)

# ansible-core and ansible-lint from PyPI for tests/it/ansible_role.rs.
ansible-venv:
	bash .ci/ansible-venv.sh

# Debian 12 packages and PyPI wheels unpacked into a root for
# tests/it/realistic.rs (issue 15), cached under target/realistic-root/.
realistic-root:
	bash tests/realistic/build-root.sh

# What the tests need on Debian 12, installed when missing (.ci/deps).
deps:
	bash .ci/deps

# `deps` first, alone: the other prerequisites need what it installs.
test:
	$(MAKE) deps
	$(MAKE) lint sample-libs ansible-venv realistic-root
	$(CARGO) test --all-targets
	$(MAKE) deb-check

bench: build sample-libs venvs-root
	bench/bench.sh

# The realistic root with and without 40 copied virtualenvs (issue 16's
# scale target), cached under target/venvs-root/ by the script's hash.
venvs-root:
	bash sample-libs/venvs-root.sh

# `make fuzz [FUZZ_SECONDS=60]`: each reader of untrusted bytes fed mutants
# for that long, from a seed taken from the clock (printed on failure with
# the input, saved under target/fuzz-crashes/); CI runs a fixed number.
FUZZ_SECONDS ?= 60
fuzz: sample-libs
	SOCLASH_FUZZ_SECONDS=$(FUZZ_SECONDS) SOCLASH_FUZZ_SEED=$$(date +%s) \
	  $(CARGO) test --release --test it hostile::fuzz:: -- --nocapture --test-threads=2

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the binary, shell
# completions and man pages generated from the clap definitions.
PREFIX ?= /usr/local
GEN := target/generated
generated: build
	rm -rf $(GEN)
	$(BIN) generate $(GEN)

install: generated
	install -Dm755 $(BIN) $(DESTDIR)$(PREFIX)/bin/soclash
	install -Dm644 $(GEN)/completions/soclash.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/soclash
	install -Dm644 $(GEN)/completions/_soclash $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_soclash
	install -Dm644 $(GEN)/completions/soclash.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/soclash.fish
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m644 $(GEN)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

# `make deb`: a Debian package (cargo-deb, from Cargo.toml's metadata) of
# the binary, man pages, completions and the systemd units (not enabled).
deb: generated
	$(CARGO) deb --no-build --strip --output $(TARGET_DIR)/debian/

# The package installed with dpkg, run and removed again (.ci/deb-check).
deb-check: deb
	bash .ci/deb-check $$(ls -t $(TARGET_DIR)/debian/soclash_*.deb | head -1)

clean:
	$(MAKE) -C sample-libs OUT=$(ROOTS) clean
	$(CARGO) clean
