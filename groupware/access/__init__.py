"""Access rights: role grants per module and action, record shares, and the one place
that turns both into SQL conditions (:mod:`groupware.access.policy`)."""
