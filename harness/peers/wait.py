"""Waiting for a peer's socket with a deadline that also notices when the program
under test has already exited: the one wait loop every peer uses."""
import select
import time

POLL_SLICE = 0.05  # how often a wait looks at whether the watched program ended


def wait_readable(sock, deadline, watch=None):
    """True once sock is readable; False at deadline (a time.monotonic() value),
    or once watch (a Program) has exited and sock still has nothing to read."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([sock], [], [], min(remaining, POLL_SLICE))
        if ready:
            return True
        if watch is not None and watch.poll() is not None:
            return bool(select.select([sock], [], [], 0)[0])
