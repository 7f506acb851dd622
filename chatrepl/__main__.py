"""`python -m chatrepl` runs the same entry point as the console script."""

from chatrepl.app.cli import main

raise SystemExit(main())
