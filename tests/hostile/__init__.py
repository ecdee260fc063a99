"""The hostile-input suite (issue 8): case generators (bombs.py, cases.py), a real agent to
aim them at (rig.py, origin.py, tripwire.py), the rules for judging the results (judge.py,
runner.py), and the tests. bench/bench_hostile.py runs every case and prints the figures."""
