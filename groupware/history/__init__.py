"""History: every create, update and delete of a tracked record, in one table.

Rows are written by :mod:`groupware.history.recorder`, a session hook, so no handler
records anything by hand; bulk paths that bypass the ORM call
:func:`groupware.history.recorder.record` themselves.
"""
