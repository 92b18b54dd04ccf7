"""``python -m mnist_gan`` runs the ``mnist-gan`` command line."""

import sys

from mnist_gan.cli import main

sys.exit(main())
