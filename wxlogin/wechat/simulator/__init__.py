"""An offline WeChat for development and tests."""
