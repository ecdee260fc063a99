"""Child process of test_store_crash: acknowledges incidents the way the proxy does.

Several threads each submit a burst of incidents, wait for every future (= committed), and
only then print the ids, as the proxy sends a block page naming the id only after the commit.
The parent SIGKILLs this process mid-stream and checks that every printed id was kept.
Usage: python crash_writer.py DB_PATH
"""

from __future__ import annotations

import sys
import threading

from incident_factory import build_incident  # this directory is sys.path[0] when run as a script

from agent.store import Store

THREADS = 8
BURST = 16


def main(db: str) -> None:
    store = Store.open(db)
    store.start()
    lock = threading.Lock()

    def work() -> None:
        while True:
            pending = [build_incident() for _ in range(BURST)]
            futs = [store.submit_incident(inc) for inc in pending]
            for inc, fut in zip(pending, futs, strict=True):
                fut.result()
                with lock:
                    sys.stdout.write(inc.id + "\n")
                    sys.stdout.flush()

    for _ in range(THREADS):
        threading.Thread(target=work, daemon=True).start()
    threading.Event().wait()     # until killed


if __name__ == "__main__":
    main(sys.argv[1])
