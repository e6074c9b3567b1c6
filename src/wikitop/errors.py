"""The exceptions wikitop raises on purpose: each carries a message meant for a person."""

from __future__ import annotations


class WikitopError(Exception):
    """Base class of every error wikitop raises on purpose."""

    # The cause will not go away in seconds (an unreachable server, a missing mirror, a corrupt
    # file on disk): `wikitop run` reports the hour at once instead of waiting to try again; a
    # worker still retries (the network, the mount or the file may be mended meanwhile).
    lasting = False


class UsageError(WikitopError):
    """The user asked for something malformed or impossible (bad hour, bad range, bad setting)."""

    lasting = True


class ConfigError(UsageError):
    """A setting is invalid; the message names it and the expected form."""


class DumpNotPublishedError(WikitopError):
    """The hour's dump does not exist (yet): Wikimedia answered 404 or the mirror lacks the file."""


class DumpDownloadError(WikitopError):
    """The dump could not be downloaded completely (5xx after retries, short body, timeouts)."""


class HostUnreachableError(DumpDownloadError):
    """A server could not be reached at all: its name does not resolve or it refuses connections."""

    lasting = True


class MirrorAccessError(DumpDownloadError):
    """A data lake mirror refuses access (no credentials, access denied): every try would meet the same."""

    lasting = True


class MirrorNotFoundError(ConfigError, DumpDownloadError):
    """WIKITOP_DUMPS_URL names a local mirror directory that does not exist (a setting, not a missing dump)."""

    lasting = True


class CorruptDumpError(WikitopError):
    """The dump is not a complete, valid gzip stream."""


class CorruptFileError(CorruptDumpError):
    """A dump file on disk (a mirror's, a kept download) is corrupt: reading it again gives the same."""

    lasting = True


class BlacklistUnavailableError(WikitopError):
    """The blacklist could not be fetched and no cached copy exists."""


class BlacklistFileError(BlacklistUnavailableError, ConfigError):
    """WIKITOP_BLACKLIST_URL names a local file that cannot be read: a setting to mend (the CLI exits 2)."""


class BackendMissingError(WikitopError):
    """An optional backend was asked for but its library is not installed."""

    lasting = True


class ResultsUnwritableError(WikitopError, OSError):
    """The results storage refuses writes for good (not a directory, no permission, read-only)."""

    lasting = True


class StateUnavailableError(WikitopError):
    """The task-state store cannot be reached right now: retry later; the hour keeps its state."""
