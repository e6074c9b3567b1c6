"""Inflate a gzip dump file into blocks for the engines, with ISA-L: on a helper thread when a core is free.

An hour computed alone inflates on a helper thread while the engine ranks the previous block, so
both cores work on it. When several hours are computed at once (`wikitop run START END --jobs 2`),
the cores are already busy with other hours: the hour inflates in its own thread, which costs less
CPU than handing blocks between threads (no queue, no wake-ups, no GIL hand-offs per block).
Each block is handed out as inflated, never copied into another buffer.
"""

from __future__ import annotations

import io
import os
import queue
import threading
from pathlib import Path
from typing import BinaryIO, cast

from isal import igzip, isal_zlib

from wikitop.errors import CorruptDumpError

# The size of the blocks a helper thread inflates: the C engine is fastest on blocks that stay in the cache.
BLOCK_BYTES = 1 << 20
# Blocks inflated ahead of the engine: enough to keep the helper busy, little memory.
BLOCKS_AHEAD = 4
_QUEUE_WAIT_S = 0.05


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Readers:
    """Counts the dump files being inflated in this process, to decide who gets a helper thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def enter(self) -> int:
        """Count one more reader; return how many there are now."""
        with self._lock:
            self.count += 1
            return self.count

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


_READERS = _Readers()


def open_gzip_file(path: Path, helper: bool | None = None) -> BinaryIO:
    """Open a gzip file whose `read(n)` returns the next inflated block (at most `n` bytes, lines cut).

    `helper`: inflate on a helper thread (True), in the caller's thread (False), or decide now
    (None): a helper thread when the other readers of this process leave a core for it.
    """
    readers = _READERS.enter()
    try:
        threaded = helper if helper is not None else 2 * readers <= _cores()
        stream: io.RawIOBase = _ThreadedBlocks(path) if threaded else _InlineBlocks(path)
    except BaseException:
        _READERS.leave()
        raise
    return cast(BinaryIO, stream)


# What ISA-L and the gzip framing raise on bad data: a damaged deflate stream, a bad header or CRC
# (gzip.BadGzipFile, an OSError), a file that ends early (EOFError).
# (isal's stubs call its error an instance; it is a class.)
_BAD_DATA: tuple[type[Exception], ...] = (cast(type[Exception], isal_zlib.error), OSError, EOFError)


def _open_isal(path: Path) -> BinaryIO:
    stream: BinaryIO = igzip.open(path, "rb")  # type: ignore[no-untyped-call]
    return stream


def _corrupt(exc: Exception) -> CorruptDumpError:
    return CorruptDumpError(f"corrupt or truncated gzip stream: {exc}")


class _InlineBlocks(io.RawIOBase):
    """Inflates in the reading thread."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._gzip = _open_isal(path)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._gzip.read(BLOCK_BYTES if size is None or size < 0 else size)
        except _BAD_DATA as exc:
            raise _corrupt(exc) from exc

    def close(self) -> None:
        if not self.closed:
            self._gzip.close()
            _READERS.leave()
        super().close()


class _ThreadedBlocks(io.RawIOBase):
    """Inflates BLOCK_BYTES blocks on a helper thread, up to BLOCKS_AHEAD ahead of the reader."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._gzip = _open_isal(path)
        self._blocks: queue.Queue[bytes | Exception] = queue.Queue(BLOCKS_AHEAD)
        self._stopping = threading.Event()
        self._ended = False
        self._rest = b""  # what a read smaller than a block left of it
        self._helper = threading.Thread(target=self._inflate, name="inflate", daemon=True)
        self._helper.start()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """The next block or blocks, joined up to `size` bytes when `size` is larger than a block."""
        wanted = BLOCK_BYTES if size is None or size < 0 else size
        parts: list[bytes] = []
        total = 0
        while total < wanted and (block := self._next()):
            if total + len(block) > wanted:
                cut = wanted - total
                block, self._rest = block[:cut], block[cut:]
            parts.append(block)
            total += len(block)
        # A read of a block's size, the engine's, gets the block itself: no copy.
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _next(self) -> bytes:
        if self._rest:
            block, self._rest = self._rest, b""
            return block
        if self._ended:
            return b""
        item = self._blocks.get()
        if isinstance(item, Exception):
            self._ended = True
            raise item
        self._ended = not item
        return item

    def _inflate(self) -> None:
        try:
            while not self._stopping.is_set():
                block = self._gzip.read(BLOCK_BYTES)
                if not self._put(block) or not block:
                    return
        except _BAD_DATA as exc:
            self._put(_corrupt(exc))
        except Exception as exc:  # raised in the reader's thread, where the engine handles it
            self._put(exc)

    def _put(self, item: bytes | Exception) -> bool:
        while not self._stopping.is_set():
            try:
                self._blocks.put(item, timeout=_QUEUE_WAIT_S)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        if not self.closed:
            self._stopping.set()
            self._helper.join()
            self._gzip.close()
            _READERS.leave()
        super().close()
