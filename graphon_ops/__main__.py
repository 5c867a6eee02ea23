"""``python -m graphon_ops`` is the ``graphon-ops`` command."""

from .cli import main

raise SystemExit(main())
