# Quick start: `make run` starts the daemon on ./config.yaml; `make test` runs every check.
.PHONY: run test
run:
	scripts/dev run
test:
	scripts/dev test
