import sys

from sdp_guard.cli import main

sys.exit(main())
