"""`python -m tests.container build`: build the image as the tests do; print tag, time and size."""

import argparse
import logging
import sys

from harness.procs import HarnessError
from tests.container.image import IMAGE, build_image, image_size


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.container", description=__doc__)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--tag", default=IMAGE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    try:
        built = build_image(args.tag)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = image_size(built.tag)
    print(f"image={built.tag} build_seconds={built.seconds:.0f} size_mb={size / 1e6:.0f}")
    return 0


sys.exit(main())
