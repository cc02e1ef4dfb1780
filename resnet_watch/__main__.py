"""``python -m resnet_watch``: same as the ``resnet-watch`` command."""

from resnet_watch.cli import main

raise SystemExit(main())
