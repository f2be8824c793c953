"""Allow ``python -m mpralens``."""

from mpralens.cli import main

raise SystemExit(main())
