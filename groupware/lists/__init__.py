"""Lists people can shape: one pattern for every list page.

An area declares each of its list pages as a :class:`~groupware.lists.declare.ListDef`
in its ``area.py`` (``Area(lists=...)``): the columns a person may show (label, SQL
value, how it reads, how it sorts, whether it is an amount to total), the query of the
records matching the page's filters (through the access filter), the default view and
the bulk actions. From that one declaration every list gets the same things:

- choosing and ordering columns and sorting by any of them (``?cols=...&sort=-key``),
  read by :mod:`groupware.lists.shape`, one query per page (:mod:`.engine`);
- a totals row for amounts, over everything the filters match that the user may see;
- bulk actions on the chosen rows, asked for once more before they run, with an undo
  where the action can be taken back (:mod:`.bulk`; a deletion keeps what it removed,
  :mod:`.snapshot`);
- a CSV export of exactly the filtered rows in the chosen columns, for those with the
  module's "export" right (:mod:`.export`);
- saved views, kept private or shared with a team (:mod:`.views`), and a sensible
  default view when the page is opened bare.

The list page itself stays the area's (its filter form, its head); it renders the
shaped table with the macros of ``web/templates/lists/_list.html``. The generic
handlers (saving a view, a bulk action, its undo, the export) are in :mod:`.web`.
"""
