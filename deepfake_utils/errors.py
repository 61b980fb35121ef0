"""One exception family for the whole package, so callers can catch ``DeepfakeError``."""
from __future__ import annotations


class DeepfakeError(Exception):
    """Base class of every error the course package raises on purpose."""


class InvalidArgument(DeepfakeError, ValueError):
    """A function or command-line argument is out of its valid range or of the wrong kind."""


class DataError(DeepfakeError):
    """A sample-data file is unknown, missing, unreachable or fails its checksum."""


class OutputError(DeepfakeError):
    """An output file cannot be written (no space left, no permission, a file where a folder should be)."""


class VideoError(DeepfakeError):
    """A video cannot be opened, decoded or written."""


class ImageError(DeepfakeError):
    """An image cannot be read, or an array is not the image the function expects."""


class NoFaceError(DeepfakeError):
    """No face was found where one was required."""


class AlignmentsError(DeepfakeError):
    """An alignments file is missing, malformed or of an unknown version."""



class DeepfakeWarning(UserWarning):
    """Something was repaired or changed on the user's behalf (the command line prints it as ``warning: ...``)."""

