"""The CRM: partners (companies and private persons) with branches and persons, partner
groups, territories and the assignment table that gives partners their reps, CSV
imports, ERP documents and the partner 360° page. Later modules (deals, campaigns,
inquiries) link to partners."""
