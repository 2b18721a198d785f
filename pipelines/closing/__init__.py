"""Closing a month (issue 14): status, approval, issue, corrections of issued months."""
