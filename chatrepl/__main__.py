"""`python -m chatrepl` runs the same entry point as the console script."""

from chatrepl.app.entry import main

raise SystemExit(main())
