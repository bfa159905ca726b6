"""Web mail: the folders with a searchable list, a message with its thread (HTML shown
sanitised, remote images only when asked for), compose / reply / reply to all / forward
with attachments and address completion, drafts, moving and deleting, the private flag,
filing a message on a deal or a partner by hand, and attachment downloads.

A message page carries its own strict Content-Security-Policy, so links into it are
full page loads (``hx-boost="false"``) rather than swaps into a page with another
policy.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from groupware.errors import Invalid
from groupware.i18n import _, _l
from groupware.lists import web as lists_web
from groupware.mail import compose, filing, mailbox, sanitize, senders
from groupware.mail.lists import FOLDER_LABELS, MAIL
from groupware.mail.models import FOLDERS, MailEntry
from groupware.validation import parse_id, validate
from groupware.web import Ctx, NavItem, acted, page

nav = [NavItem(_l("Mail"), "mail", badge=mailbox.unread_inbox, order=60, icon="mail")]
MOVED: dict[str, Any] = {
    "inbox": _l("The message is back in the inbox."),
    "sent": _l("The message is back among the sent ones."),
    "archive": _l("The message is archived."),
    "trash": _l("The message is in the trash."),
}
HOW_LABELS: dict[str, Any] = {
    "address": _l("by its filing address"),
    "tag": _l("by the tag in its subject"),
    "contact": _l("by the partner's address"),
    "manual": _l("by hand"),
}
KIND_LABELS: dict[str, Any] = {
    "user": _l("colleague"),
    "person": _l("contact person"),
    "partner": _l("partner"),
}
# Served as what they say they are; anything else is a download of octet-stream.
SAFE_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "text/plain",
        "text/csv",
        "text/calendar",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
    }
)
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_UPLOADS = 20


@page()
def mail(ctx: Ctx) -> Response:
    found = lists_web.listing(ctx, MAIL, full=not lists_web.wants_results(ctx))
    folder = found.shape.filters.get("folder", "inbox")
    return lists_web.render(
        ctx,
        "mail/list.html",
        found,
        folder=folder if folder in FOLDERS else "inbox",
        folders=FOLDER_LABELS,
        counts=mailbox.folder_counts(ctx.db, ctx.acting),
        q=found.shape.filters.get("q", ""),
    )


def _message_page(
    ctx: Ctx,
    entry: MailEntry,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    link_q: str = "",
    block: str | None = None,
) -> Response:
    message = entry.message
    images = ctx.query("images") == "1"
    parts = mailbox.parts(message)
    body = None
    if message.html:
        cids = {
            p.content_id: f"/mail/{entry.id}/parts/{p.number}?inline=1"
            for p in parts
            if p.content_id and p.type in INLINE_IMAGES
        }
        body = sanitize.render_html(
            message.html, allow_remote=images, cid_url=sanitize.cid_mapper(cids)
        )
    return ctx.render(
        "mail/message.html",
        block=block,
        status_code=status,
        headers={
            "Content-Security-Policy": sanitize.message_csp(remote_images=images),
            "Referrer-Policy": "no-referrer",
        },
        entry=entry,
        message=message,
        body=body,
        text=sanitize.render_text(message.text) if body is None else None,
        images=images,
        attachments=[p for p in parts if p.attachment],
        thread=mailbox.thread_of(ctx.db, ctx.acting, entry),
        filed=mailbox.filed_on(ctx.db, ctx.acting, message.id),
        choices=mailbox.record_choices(ctx.db, ctx.acting, link_q) if link_q else [],
        link_q=link_q,
        folders=FOLDER_LABELS,
        record_labels={k.record_type: k.label for k in filing.kinds()},
        how_labels=HOW_LABELS,
        errors=errors or {},
    )


@page(write=True)
def message(ctx: Ctx) -> Response:
    entry = mailbox.get_entry_for_user(ctx.db, ctx.acting, ctx.int_param("entry_id"))
    if entry.folder == "drafts":
        return ctx.redirect(f"/mail/compose?draft={entry.id}")
    if not entry.seen:
        mailbox.mark_seen(ctx.db, ctx.acting, entry.id)
    return _message_page(ctx, entry)


@page()
def message_records(ctx: Ctx) -> Response:
    """Deals and partners to file the message on, as the reader types."""
    entry = mailbox.get_entry_for_user(ctx.db, ctx.acting, ctx.int_param("entry_id"))
    return _message_page(ctx, entry, link_q=ctx.query("q")[:100], block="link_choices")


def _changed(ctx: Ctx, act: Callable[[MailEntry], object], message: Any, url: str) -> Response:
    """Run one change of a message; refused, the message again with the reason."""
    entry = mailbox.get_entry_for_user(ctx.db, ctx.acting, ctx.int_param("entry_id"))

    def refused(errors: dict[str, str]) -> Response:
        return _message_page(ctx, entry, errors=errors, status=422)

    return acted(ctx, lambda: act(entry), str(message), url.format(id=entry.id), refused)


@page()
def message_move(ctx: Ctx) -> Response:
    entry = mailbox.get_entry_for_user(ctx.db, ctx.acting, ctx.int_param("entry_id"))
    origin = entry.folder
    target = str(ctx.form_dict().get("folder", ""))
    if target == "back":
        target = mailbox.home_folder(ctx.db, ctx.acting, entry, ctx.gw.settings.mail_domain)
    return _changed(
        ctx,
        lambda e: mailbox.move(ctx.db, ctx.acting, e.id, target),
        MOVED.get(target, ""),
        f"/mail?folder={origin}",
    )


@page()
def message_seen(ctx: Ctx) -> Response:
    seen = ctx.form_dict().get("seen") == "1"
    entry = mailbox.mark_seen(ctx.db, ctx.acting, ctx.int_param("entry_id"), seen)
    ctx.flash(_("Marked as read.") if seen else _("Marked as unread."))
    return ctx.redirect(f"/mail/{entry.id}" if seen else f"/mail?folder={entry.folder}")


@page()
def message_private(ctx: Ctx) -> Response:
    private = ctx.form_dict().get("private") == "1"
    said = (
        _("The message is private: deals and partners do not show it.")
        if private
        else _("The message is no longer private.")
    )
    return _changed(
        ctx, lambda e: mailbox.set_private(ctx.db, ctx.acting, e.id, private), said, "/mail/{id}"
    )


@page()
def message_delete(ctx: Ctx) -> Response:
    entry = mailbox.get_entry_for_user(ctx.db, ctx.acting, ctx.int_param("entry_id"))
    said = (
        _("The draft is discarded.") if entry.folder == "drafts" else _("The message is deleted.")
    )
    return _changed(
        ctx,
        lambda e: mailbox.delete_entry(ctx.db, ctx.acting, e.id),
        said,
        f"/mail?folder={entry.folder}",
    )


@page()
def empty_trash(ctx: Ctx) -> Response:
    count = mailbox.empty_trash(ctx.db, ctx.acting)
    ctx.flash(_("The trash is empty (%(count)d deleted).", count=count))
    return ctx.redirect("/mail?folder=trash")


@page()
def message_link(ctx: Ctx) -> Response:
    form = ctx.form_dict()
    record_type = str(form.get("record_type", ""))
    record_id = parse_id(str(form.get("record_id", "")))

    def link(entry: MailEntry) -> None:
        if record_id is None:
            raise Invalid({"record_id": _("Choose a deal or a partner.")})
        mailbox.link_record(ctx.db, ctx.acting, entry.id, record_type, record_id)

    return _changed(ctx, link, _("The message is filed there."), "/mail/{id}")


@page()
def message_unlink(ctx: Ctx) -> Response:
    link_id = ctx.int_param("link_id")
    return _changed(
        ctx,
        lambda e: mailbox.unlink_record(ctx.db, ctx.acting, e.id, link_id),
        _("The message is no longer filed there."),
        "/mail/{id}",
    )


def _disposition(kind: str, name: str) -> str:
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    quoted = urllib.parse.quote(name, safe="")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quoted}"


@page()
def message_part(ctx: Ctx) -> Response:
    """An attachment as a download (or an inline image of the message itself)."""
    entry = mailbox.get_entry_for_user(ctx.db, ctx.acting, ctx.int_param("entry_id"))
    part, data = mailbox.part_payload(entry.message, ctx.int_param("number"))
    inline = ctx.query("inline") == "1" and part.type in INLINE_IMAGES
    kind = part.type if part.type in SAFE_TYPES else "application/octet-stream"
    name = part.name or f"part-{part.number}"
    headers = {
        "Content-Disposition": _disposition("inline" if inline else "attachment", name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(data, media_type=kind, headers=headers)


# -- compose ------------------------------------------------------------------------------

COMPOSE_KINDS = ("reply", "reply_all", "forward", "draft")
FORM_FIELDS = ("from_address", "to", "cc", "bcc", "subject", "text", "in_reply_to", "references")


def _compose_page(
    ctx: Ctx, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    source_id = parse_id(str(form.get("source_id") or ""))
    source = []
    if source_id is not None:
        entry = mailbox.get_entry_for_user(ctx.db, ctx.acting, source_id)
        source = mailbox.attachments(entry.message)
    keep = {int(k) for k in form.get("keep", []) if str(k).isdigit()}
    return ctx.render(
        "mail/compose.html",
        form=form,
        errors=errors,
        status_code=status,
        source=source,
        keep=keep,
        sendable=[(a, a) for a in senders.sendable(ctx.db, ctx.me, ctx.gw.settings.mail_domain)],
    )


@page()
def compose_form(ctx: Ctx) -> Response:
    form: dict[str, Any] = {"to": ctx.query("to")[:1000]}
    for kind in COMPOSE_KINDS:
        entry_id = ctx.query_id(kind)
        if entry_id is not None:
            settings = ctx.gw.settings
            form = compose.prefill(ctx.db, ctx.me, settings, kind=kind, entry_id=entry_id)
            break
    return _compose_page(ctx, form, {})


def _uploads(ctx: Ctx) -> list[compose.Upload]:
    files = [
        f
        for f in (ctx.form.getlist("attachments") if ctx.form is not None else [])
        if isinstance(f, UploadFile) and f.filename
    ]
    if len(files) > MAX_UPLOADS:
        raise Invalid({"attachments": _("Attach at most %(count)d files.", count=MAX_UPLOADS)})
    return [
        compose.Upload(f.filename or "file", f.content_type or "", f.file.read()) for f in files
    ]


@page()
def compose_send(ctx: Ctx) -> Response:
    raw = ctx.form_dict(lists=("keep",))
    form = {k: raw[k] for k in (*FORM_FIELDS, "source_id", "draft_id", "keep") if k in raw}
    settings = ctx.gw.settings
    try:
        uploads = _uploads(ctx)
        data = validate(compose.MailIn, form)
        if raw.get("action") == "draft":
            draft = compose.save_draft(ctx.db, ctx.me, data, settings, uploads=uploads)
            ctx.flash(_("The draft is saved."))
            return ctx.redirect(f"/mail/compose?draft={draft.id}")
        compose.send(ctx.db, ctx.me, data, settings, uploads=uploads)
    except Invalid as exc:
        errors = dict(exc.errors)
        if ctx.form is not None and any(
            isinstance(f, UploadFile) and f.filename for f in ctx.form.getlist("attachments")
        ):
            errors.setdefault("attachments", _("Attach your files again."))
        return _compose_page(ctx, form, errors, 422)
    ctx.flash(_("Your message is sent."))
    return ctx.redirect("/mail")


@page()
def addresses(ctx: Ctx) -> Response:
    """Address completion for the compose form: colleagues, persons, partners."""
    found = compose.address_book(ctx.db, ctx.acting, ctx.query("q")[:100])
    return JSONResponse(
        [
            {
                "name": c.name,
                "address": c.address,
                "label": c.label,
                "kind": c.kind,
                "kind_label": str(KIND_LABELS[c.kind]),
            }
            for c in found
        ]
    )


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


routes = [
    Route("/mail", mail, name="mail"),
    Route("/mail/compose", compose_form, name="mail_compose"),
    _post("/mail/compose", compose_send, "mail_send"),
    Route("/mail/addresses", addresses, name="mail_addresses"),
    _post("/mail/trash/empty", empty_trash, "mail_empty_trash"),
    Route("/mail/{entry_id:int}", message, name="mail_message"),
    Route("/mail/{entry_id:int}/records", message_records, name="mail_records"),
    Route("/mail/{entry_id:int}/parts/{number:int}", message_part, name="mail_part"),
    _post("/mail/{entry_id:int}/move", message_move, "mail_move"),
    _post("/mail/{entry_id:int}/seen", message_seen, "mail_seen"),
    _post("/mail/{entry_id:int}/private", message_private, "mail_private"),
    _post("/mail/{entry_id:int}/delete", message_delete, "mail_delete"),
    _post("/mail/{entry_id:int}/links", message_link, "mail_link"),
    _post("/mail/{entry_id:int}/links/{link_id:int}/remove", message_unlink, "mail_unlink"),
]
