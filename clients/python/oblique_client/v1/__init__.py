"""Stubs generated from proto/oblique/v1 by generate.sh: do not edit."""
