"""Territories, partner groups and the assignment table: which reps a partner gets by
its county, city, postal code and group (service, groups, assignment), with its pages
and API (web, api)."""
