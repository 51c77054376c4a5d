# The two commands of the README: `make run` and `make test`. Both install what is
# missing (Debian packages, as root), build, and then serve or test.
BUILD      ?= build
TEST_BUILD ?= build-asan

.PHONY: all deps build run test bench clean format

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	ninja -C $(BUILD)

run: build
	@scripts/run-demo.sh $(BUILD)/actionlinks

# Every test, under AddressSanitizer and UndefinedBehaviorSanitizer.
test: deps
	cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAL_SANITIZE=ON
	ninja -C $(TEST_BUILD)
	cd tests/compat && npm ci --no-audit --no-fund --loglevel=error
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	ctest --test-dir $(TEST_BUILD) --output-on-failure --timeout 600 -j2

# Measures the server against nginx, SQLite and libcurl anchors on this machine and
# appends the table to bench/RESULTS.md (docs/PERFORMANCE.md). BENCH_ARGS=--quick: 2 s, 1 round.
bench:
	@scripts/install-deps.sh bench
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release
	ninja -C build-bench actionlinks
	python3 bench/run.py $(BENCH_ARGS)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
