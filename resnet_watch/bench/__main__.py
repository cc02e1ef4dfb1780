"""``python -m resnet_watch.bench``: same as ``resnet-watch bench``."""

from resnet_watch.bench import main

raise SystemExit(main())
