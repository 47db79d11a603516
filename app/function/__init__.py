"""The Lambda function behind the HTTP API; see handler.py."""
