"""The compiled part of the package (metadata lives in pyproject.toml).

agent/fingerprint/_fast.c is the EDM/IDM body path (tokens, canonical forms, keyed hashes, set
lookups). It is plain C against the Python headers: `make setup` builds it with the system's C
compiler. Without it the agent still runs, on the slower numpy path of the same rules.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("agent.fingerprint._fast", ["agent/fingerprint/_fast.c"],
                             extra_compile_args=["-O3", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                                 "-Wno-missing-field-initializers"])])
