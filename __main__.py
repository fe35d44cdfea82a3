"""``python -m unnatural``: the ``unnatural`` command (also the target of ``torchrun -m``)."""
import sys

from unnatural.cli import main

sys.exit(main())
