"""An outside tester's population and request batch for ftigate (issue 11).

Written without reading ftigate's own generator (`src/ftigate/synth/`): only the data
contract (DESIGN.md section 4, README "File formats") and the Census name-frequency
files. `population` builds a world and its taxpayer file, `batch` a request batch with
its truth, `pipeline` runs ftigate's CLI on them and scores the answers against that
truth. `bench/independent_run.py` is the command; `tests/independent/` the test.
"""
