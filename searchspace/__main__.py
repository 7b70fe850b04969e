import sys

from searchspace.cli import main

sys.exit(main())
