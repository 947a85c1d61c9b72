"""Who may do what: roles and scopes, API keys, console users and sessions."""
