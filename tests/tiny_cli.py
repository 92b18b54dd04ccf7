"""``python -m tests.tiny_cli ARGS`` is ``mnist-gan ARGS`` with the tests' ``tiny`` preset known,
for tests that need a real training process (signals, the lock) but not a real network."""

import sys

from mnist_gan.cli import main
from tests.tiny import register

register()
sys.exit(main())
