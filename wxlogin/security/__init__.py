"""Tokens and what keeps them safe: signing, the token check, login sessions, revocation, the user cache, crypto, rate limits, redaction."""
