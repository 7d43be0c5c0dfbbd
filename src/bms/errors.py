"""Exceptions that carry a message meant for the user.

Every error a user can cause (a bad file, a bad column, a bad date, a bad setting) is raised as a
subclass of :class:`BmsError` with a one-line message that names the culprit. The CLI prints that
line to standard error and exits non-zero, without a traceback.
"""


class BmsError(Exception):
    """An error caused by input or configuration; its message is shown to the user as is."""


class ConfigError(BmsError):
    """A setting (environment variable or ``bms.toml`` entry) is invalid."""


class SchemaError(BmsError, ValueError):
    """Data does not follow its contract (telemetry frame, site model, CSV layout)."""


class SiteError(BmsError, ValueError):
    """The site model is malformed or refers to something that does not exist."""


class UnknownPointError(BmsError, KeyError):
    """A point id is not known to the site model or the store."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "unknown point"
