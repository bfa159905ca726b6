"""CRM master data: partners, their persons and branches, ERP documents, territories and
groups with the assignment table, saved views, CSV imports and merges."""

from groupware.crm import (
    api,
    api_contacts,
    api_documents,
    documents,
    documents_web,
    lists,
    merge,
    partner360_web,
    partners,
    partners_web,
    persons,
    persons_web,
)
from groupware.crm.importing import api as imports_api
from groupware.crm.importing import imports
from groupware.crm.importing import web as imports_web
from groupware.crm.models import (
    ASSIGNMENT_RULES_RECORD,
    BRANCHES_RECORD,
    DOCUMENTS_MODULE,
    DOCUMENTS_RECORD,
    PARTNER_GROUPS_RECORD,
    PARTNERS_MODULE,
    PARTNERS_RECORD,
    PERSONS_RECORD,
    TERRITORIES_RECORD,
    AssignmentRule,
    AssignmentRuleRep,
    Branch,
    County,
    Document,
    ImportJob,
    ImportRowError,
    Partner,
    PartnerGroup,
    PartnerMerge,
    PartnerRep,
    PartnerTag,
    Person,
    Tag,
    Territory,
    TerritoryArea,
)
from groupware.crm.territories import api as api_territories
from groupware.crm.territories import web as territories_web
from groupware.i18n import _l
from groupware.mail.filing import Contact, FilingKind
from groupware.search import Provider
from groupware.web import QuickCreate
from groupware.wiring import Area

AREA = Area(
    "crm",
    models=(
        PartnerGroup,
        County,
        Territory,
        TerritoryArea,
        AssignmentRule,
        AssignmentRuleRep,
        Partner,
        PartnerRep,
        Tag,
        PartnerTag,
        Branch,
        Person,
        Document,
        PartnerMerge,
        ImportJob,
        ImportRowError,
    ),
    access_modules=(PARTNERS_MODULE, DOCUMENTS_MODULE),
    record_types=(
        PARTNERS_RECORD,
        BRANCHES_RECORD,
        PERSONS_RECORD,
        DOCUMENTS_RECORD,
        PARTNER_GROUPS_RECORD,
        TERRITORIES_RECORD,
        ASSIGNMENT_RULES_RECORD,
    ),
    pages=(
        partners_web,
        partner360_web,
        persons_web,
        documents_web,
        territories_web,
        imports_web,
    ),
    apis=(api.api, api_contacts.api, api_documents.api, api_territories.api, imports_api.api),
    jobs=(imports.RESUME_JOB,),
    merge_links=(merge.PERSONS_LINK, merge.BRANCHES_LINK, merge.DOCUMENTS_LINK),
    # partner-7@<mail domain>, and mail exchanged with the partner's address or one of
    # its persons' (a merged partner's address no longer files anything)
    lists=lists.LISTS,
    filing_kinds=(
        FilingKind(
            "partner",
            "partners",
            Partner.id,
            contacts=(
                Contact(Partner.id, Partner.email, (Partner.status != "merged",)),
                Contact(Person.partner_id, Person.email),
            ),
            label=_l("Partner"),
            name=Partner.name,
            choices=partners.filing_choices,
        ),
    ),
    search_providers=(
        Provider(
            "partners", _l("Partners"), partners.search_rows, more="/partners?q={q}", order=10
        ),
        Provider("persons", _l("Persons"), persons.search_rows, more="/persons?q={q}", order=20),
        Provider("documents", _l("ERP documents"), documents.search_rows, order=60),
    ),
    quick_create=(
        QuickCreate(_l("Partner"), "partner_new", module="partners", order=10),
        QuickCreate(_l("Person"), "person_pick", module="partners", action="edit", order=20),
    ),
)
