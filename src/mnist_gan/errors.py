"""The one exception type for user mistakes.

Anything a user can get wrong (a learning rate of zero, a missing data file, an unwritable
output folder) raises :class:`MNISTGANError` with a message that names the value and what would
be accepted. The CLI prints it and exits with status 2 instead of showing a traceback.
"""


class MNISTGANError(ValueError):
    """A user-facing error: bad settings, bad data, or a file that cannot be used."""
