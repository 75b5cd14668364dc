"""Runs a command on a pseudo-terminal and relays it, for tests of what a terminal shows.

Usage: python3 pty-driver.py COLS ROWS COMMAND [ARG...]

The command's terminal output is copied, raw, to this process's stdout. Each
line read on stdin is one JSON instruction:
  {"write": "text"}       typed into the terminal (keystrokes)
  {"resize": [cols, rows]} the window resized (TIOCSWINSZ: the kernel sends SIGWINCH)
  {"close": true}          the terminal hung up (the command gets SIGHUP)
Exits with the command's exit status (128 + N when signal N ended it).
"""

import fcntl
import json
import os
import selectors
import signal
import struct
import subprocess
import sys
import termios


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main() -> int:
    cols, rows, command = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    master, slave = os.openpty()
    set_size(master, cols, rows)

    def controlling_terminal() -> None:
        # A session of its own with the pty as its controlling terminal, so SIGWINCH reaches it.
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, preexec_fn=controlling_terminal, close_fds=True)
    os.close(slave)

    selector = selectors.DefaultSelector()
    selector.register(master, selectors.EVENT_READ, "pty")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "control")
    pending = b""
    out = sys.stdout.buffer
    while True:
        for key, _ in selector.select(timeout=0.5):
            if key.data == "pty":
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every holder of the pty's other end has closed it
                    data = b""
                if not data:
                    selector.unregister(master)
                    child.wait()
                    os.close(master)
                    code = child.returncode
                    return 128 - code if code < 0 else code
                out.write(data)
                out.flush()
            else:
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if not line.strip():
                        continue
                    step = json.loads(line)
                    if "write" in step:
                        os.write(master, step["write"].encode())
                    elif "resize" in step:
                        set_size(master, *step["resize"])
                    elif "close" in step:
                        child.send_signal(signal.SIGHUP)


if __name__ == "__main__":
    sys.exit(main())
