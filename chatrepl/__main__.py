"""`python -m chatrepl` runs the same entry point as the console script."""

from chatrepl.cli import main

raise SystemExit(main())
