"""What this machine lets the grader use."""
import os


def usable_cpus():
    """The CPUs this process may run on: under Slurm, a container's cpuset or
    taskset that is fewer than os.cpu_count(), which counts the whole machine."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1
