"""Notifications: one table and the bell in the shell. Modules post with
:func:`groupware.notifications.service.notify`."""
