"""Conversation memory."""
