"""Independent Python implementations of the other side of each lab's protocol."""
