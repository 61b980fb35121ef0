"""deepfake_utils: the working code of the deepfake-course, one module per stage of the face swap."""
from .errors import AlignmentsError, DataError, DeepfakeError, ImageError, NoFaceError, VideoError

__version__ = "0.1.0"
__all__ = ["DeepfakeError", "DataError", "VideoError", "ImageError", "NoFaceError", "AlignmentsError"]
