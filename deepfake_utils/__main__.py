"""``python -m deepfake_utils``: the course's command line."""
import sys

from .cli import main

sys.exit(main())
