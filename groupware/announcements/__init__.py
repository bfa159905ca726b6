"""Announcements: information that matters to the whole company or to one team,
published on the dashboard. Drafts follow the usual access rules; a published
announcement is readable by its audience until it expires."""
