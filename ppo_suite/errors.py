"""Errors a user can act on: the message names the file, line, key or override that is wrong."""


class PPOSuiteError(Exception):
    """Reported as one paragraph and a non-zero exit, without a traceback."""


class ConfigError(PPOSuiteError):
    """A setting that cannot work: names the key and what would be right."""


class DataError(PPOSuiteError):
    """A missing or malformed data file: names the file and, where there is one, the line."""


class RewardError(PPOSuiteError):
    """A reward that returned the wrong number of scores, NaN, or raised."""
