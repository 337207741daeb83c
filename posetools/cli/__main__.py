"""``python -m posetools.cli``."""

from . import main

main()
