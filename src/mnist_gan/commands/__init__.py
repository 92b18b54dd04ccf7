"""The bodies of the ``mnist-gan`` subcommands, one module per job; :mod:`mnist_gan.cli` parses
the arguments and calls each command's ``check_*`` (before TensorFlow loads) then ``run_*``.
"""
