"""deepfake_utils: the working code of the deepfake-course, one module per stage of the face swap."""
import os as _os
import platform as _platform

from .errors import (
    AlignmentsError,
    DataError,
    DeepfakeError,
    ImageError,
    InvalidArgument,
    NoFaceError,
    OutputError,
    VideoError,
)

# TensorFlow turns its oneDNN CPU kernels on by default only on some x86 CPUs (it left them off on the
# AMD machines this course is tested on). With them on, training runs about 2x faster there (measured side
# by side: `python -m benchmarks.bench train`, figures in benchmarks/README.md).
ONEDNN_BY_DEFAULT = _platform.machine().lower() in {"x86_64", "amd64"}  # this package's choice here


def configure() -> None:
    """Prepare this process for the course: TensorFlow's oneDNN CPU kernels on for x86 CPUs.

    TensorFlow reads the switch when it is imported, so call this first; the command line and the notebooks'
    setup cell do. Importing the package changes nothing; a value you set yourself wins (0: off).
    """
    if ONEDNN_BY_DEFAULT:
        _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


__version__ = "0.1.0"
__all__ = [
    "DeepfakeError", "DataError", "VideoError", "ImageError", "InvalidArgument", "NoFaceError", "AlignmentsError",
    "OutputError", "configure",
]
