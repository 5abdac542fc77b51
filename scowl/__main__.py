from scowl.cli import main

raise SystemExit(main())
