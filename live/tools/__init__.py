"""Tools around the service, never imported by it: the benchmarks behind `live bench`
(`bench.py`, `loadgen.py`) and the throwaway redis-server they and the tests start
(`devredis.py`).

The runtime (every other module of `live`) must not import this package; `live/cli.py` imports
it lazily inside the `bench` command only. tests/unit/test_layout.py checks both.
"""
