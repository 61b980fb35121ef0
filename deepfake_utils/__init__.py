"""deepfake_utils: the working code of the deepfake-course, one module per stage of the face swap."""
import os as _os
import platform as _platform

# TensorFlow turns its oneDNN CPU kernels on by default only on some x86 CPUs (it left them off on the
# AMD machines this course is tested on). With them on, training runs about 2x faster there (measured side
# by side: `python -m deepfake_utils.bench train`, figures in benchmarks/README.md). The switch is read
# when TensorFlow is imported, so import deepfake_utils first; a value you set yourself wins (0: off).
ONEDNN_BY_DEFAULT = _platform.machine().lower() in {"x86_64", "amd64"}  # this package's choice here
if ONEDNN_BY_DEFAULT:
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from .errors import (  # noqa: E402
    AlignmentsError,
    DataError,
    DeepfakeError,
    ImageError,
    InvalidArgument,
    NoFaceError,
    OutputError,
    VideoError,
)

__version__ = "0.1.0"
__all__ = [
    "DeepfakeError", "DataError", "VideoError", "ImageError", "InvalidArgument", "NoFaceError", "AlignmentsError",
    "OutputError",
]
