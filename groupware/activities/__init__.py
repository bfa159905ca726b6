"""Activities: notes and logged calls put on any record that has an activity stream (a
partner, a person, a deal, a task...), and the stream itself on record pages and in the
API (the merging of the areas' stream sources is :mod:`groupware.stream`)."""
