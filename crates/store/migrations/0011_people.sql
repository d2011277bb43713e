-- Stakeholders apart from product users: a contact's influence, and where it came from
-- ('crm': a person, a CRM file or the API; 'product': an identify call). Contacts written
-- by identify calls before this version stay 'crm' until usage names them again.
ALTER TABLE contacts ADD COLUMN influence TEXT CHECK (influence IS NULL OR influence IN ('high', 'medium', 'low'));
ALTER TABLE contacts ADD COLUMN source TEXT NOT NULL DEFAULT 'crm' CHECK (source IN ('crm', 'product'));
-- Why a playbook fired, in Japanese too.
ALTER TABLE playbook_runs ADD COLUMN reason_ja TEXT;
-- A touchpoint's notes (several lines) and how the customer felt.
ALTER TABLE touchpoints ADD COLUMN notes TEXT;
ALTER TABLE touchpoints ADD COLUMN sentiment TEXT CHECK (sentiment IS NULL OR sentiment IN ('positive', 'neutral', 'negative'));
