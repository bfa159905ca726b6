"""Accounts: users, teams, roles and grants; passwords, web sessions, API tokens and app
passwords; login throttling."""
