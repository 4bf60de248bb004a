"""Inbound JWT checks shared by the agent and the local gateway."""

from auth.verifier import AuthError, Identity, JwtVerifier

__all__ = ["AuthError", "Identity", "JwtVerifier"]
