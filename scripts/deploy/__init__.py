"""Deploy tooling: templates, deploy/configure scripts, manifest tooling (run as modules)."""
