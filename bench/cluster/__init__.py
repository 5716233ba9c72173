"""`make cluster`: the API, workers and beat on separate network hosts (namespaces).

Its figures live in bench/RESULTS.md between two markers; `make bench` rewrites the
rest of that file and keeps this section (`kept_section`).
"""

import re

START, END = "<!-- cluster:start -->", "<!-- cluster:end -->"


def kept_section(text: str) -> str:
    """The cluster section of an existing RESULTS.md, to append to a rewritten one."""
    found = re.search(re.escape(START) + ".*?" + re.escape(END), text, flags=re.S)
    return "\n" + found.group(0) + "\n" if found else ""
