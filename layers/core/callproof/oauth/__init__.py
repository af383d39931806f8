"""OAuth shared by the Gmail and calendar integrations: ``model`` (tokens, PKCE, state) and ``ports``."""
