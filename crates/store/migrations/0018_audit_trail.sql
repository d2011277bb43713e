-- The audit trail: every change to customer data and configuration, by whom (the user
-- behind the session or token; none: the system), when, and before/after. The store
-- sets `audit_context.actor_id` at the start of each write transaction (one writer), and
-- these triggers read it; people, partners, segments and custom fields were already
-- recorded by the store itself (0012).
CREATE TABLE audit_context (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    actor_id INTEGER
);
INSERT INTO audit_context (id, actor_id) VALUES (1, NULL);

-- Objects and actions grow with the trail: the table loses its closed lists.
CREATE TABLE audit_log_next (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_id   INTEGER,
    object     TEXT NOT NULL,
    object_key TEXT NOT NULL,
    action     TEXT NOT NULL,
    before     TEXT,
    after      TEXT
);
INSERT INTO audit_log_next (id, at, actor_id, object, object_key, action, before, after)
    SELECT id, at, actor_id, object, object_key, action, before, after FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_next RENAME TO audit_log;
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_object ON audit_log(object, object_key, id);
CREATE INDEX audit_log_actor ON audit_log(actor_id, id);

CREATE TRIGGER audit_accounts_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'account', CAST(NEW.id AS TEXT), 'create', NULL, json_object('external_id', NEW.external_id, 'name', NEW.name, 'parent_id', NEW.parent_id, 'plan', NEW.plan, 'mrr', NEW.mrr, 'currency', NEW.currency, 'contract_start', NEW.contract_start, 'contract_end', NEW.contract_end, 'renewal_date', NEW.renewal_date, 'owner_id', NEW.owner_id, 'partner_id', NEW.partner_id, 'stage', NEW.stage, 'tier', NEW.tier, 'custom_fields', NEW.custom_fields));
END;
CREATE TRIGGER audit_accounts_update AFTER UPDATE ON accounts WHEN json_object('external_id', OLD.external_id, 'name', OLD.name, 'parent_id', OLD.parent_id, 'plan', OLD.plan, 'mrr', OLD.mrr, 'currency', OLD.currency, 'contract_start', OLD.contract_start, 'contract_end', OLD.contract_end, 'renewal_date', OLD.renewal_date, 'owner_id', OLD.owner_id, 'partner_id', OLD.partner_id, 'stage', OLD.stage, 'tier', OLD.tier, 'custom_fields', OLD.custom_fields) IS NOT json_object('external_id', NEW.external_id, 'name', NEW.name, 'parent_id', NEW.parent_id, 'plan', NEW.plan, 'mrr', NEW.mrr, 'currency', NEW.currency, 'contract_start', NEW.contract_start, 'contract_end', NEW.contract_end, 'renewal_date', NEW.renewal_date, 'owner_id', NEW.owner_id, 'partner_id', NEW.partner_id, 'stage', NEW.stage, 'tier', NEW.tier, 'custom_fields', NEW.custom_fields) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'account', CAST(NEW.id AS TEXT), 'update', json_object('external_id', OLD.external_id, 'name', OLD.name, 'parent_id', OLD.parent_id, 'plan', OLD.plan, 'mrr', OLD.mrr, 'currency', OLD.currency, 'contract_start', OLD.contract_start, 'contract_end', OLD.contract_end, 'renewal_date', OLD.renewal_date, 'owner_id', OLD.owner_id, 'partner_id', OLD.partner_id, 'stage', OLD.stage, 'tier', OLD.tier, 'custom_fields', OLD.custom_fields), json_object('external_id', NEW.external_id, 'name', NEW.name, 'parent_id', NEW.parent_id, 'plan', NEW.plan, 'mrr', NEW.mrr, 'currency', NEW.currency, 'contract_start', NEW.contract_start, 'contract_end', NEW.contract_end, 'renewal_date', NEW.renewal_date, 'owner_id', NEW.owner_id, 'partner_id', NEW.partner_id, 'stage', NEW.stage, 'tier', NEW.tier, 'custom_fields', NEW.custom_fields));
END;
CREATE TRIGGER audit_accounts_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'account', CAST(OLD.id AS TEXT), 'delete', json_object('external_id', OLD.external_id, 'name', OLD.name, 'parent_id', OLD.parent_id, 'plan', OLD.plan, 'mrr', OLD.mrr, 'currency', OLD.currency, 'contract_start', OLD.contract_start, 'contract_end', OLD.contract_end, 'renewal_date', OLD.renewal_date, 'owner_id', OLD.owner_id, 'partner_id', OLD.partner_id, 'stage', OLD.stage, 'tier', OLD.tier, 'custom_fields', OLD.custom_fields), NULL);
END;

CREATE TRIGGER audit_contacts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'contact', CAST(NEW.id AS TEXT), 'create', NULL, json_object('account_id', NEW.account_id, 'external_id', NEW.external_id, 'name', NEW.name, 'email', NEW.email, 'role', NEW.role, 'title', NEW.title, 'personal_success', NEW.personal_success, 'sentiment', NEW.sentiment, 'influence', NEW.influence, 'source', NEW.source));
END;
CREATE TRIGGER audit_contacts_update AFTER UPDATE ON contacts WHEN json_object('account_id', OLD.account_id, 'external_id', OLD.external_id, 'name', OLD.name, 'email', OLD.email, 'role', OLD.role, 'title', OLD.title, 'personal_success', OLD.personal_success, 'sentiment', OLD.sentiment, 'influence', OLD.influence, 'source', OLD.source) IS NOT json_object('account_id', NEW.account_id, 'external_id', NEW.external_id, 'name', NEW.name, 'email', NEW.email, 'role', NEW.role, 'title', NEW.title, 'personal_success', NEW.personal_success, 'sentiment', NEW.sentiment, 'influence', NEW.influence, 'source', NEW.source) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'contact', CAST(NEW.id AS TEXT), 'update', json_object('account_id', OLD.account_id, 'external_id', OLD.external_id, 'name', OLD.name, 'email', OLD.email, 'role', OLD.role, 'title', OLD.title, 'personal_success', OLD.personal_success, 'sentiment', OLD.sentiment, 'influence', OLD.influence, 'source', OLD.source), json_object('account_id', NEW.account_id, 'external_id', NEW.external_id, 'name', NEW.name, 'email', NEW.email, 'role', NEW.role, 'title', NEW.title, 'personal_success', NEW.personal_success, 'sentiment', NEW.sentiment, 'influence', NEW.influence, 'source', NEW.source));
END;
CREATE TRIGGER audit_contacts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'contact', CAST(OLD.id AS TEXT), 'delete', json_object('account_id', OLD.account_id, 'external_id', OLD.external_id, 'name', OLD.name, 'email', OLD.email, 'role', OLD.role, 'title', OLD.title, 'personal_success', OLD.personal_success, 'sentiment', OLD.sentiment, 'influence', OLD.influence, 'source', OLD.source), NULL);
END;

CREATE TRIGGER audit_subscriptions_insert AFTER INSERT ON subscriptions BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'subscription', CAST(NEW.id AS TEXT), 'create', NULL, json_object('account_id', NEW.account_id, 'external_id', NEW.external_id, 'plan', NEW.plan, 'quantity', NEW.quantity, 'mrr', NEW.mrr, 'start_date', NEW.start_date, 'end_date', NEW.end_date));
END;
CREATE TRIGGER audit_subscriptions_update AFTER UPDATE ON subscriptions WHEN json_object('account_id', OLD.account_id, 'external_id', OLD.external_id, 'plan', OLD.plan, 'quantity', OLD.quantity, 'mrr', OLD.mrr, 'start_date', OLD.start_date, 'end_date', OLD.end_date) IS NOT json_object('account_id', NEW.account_id, 'external_id', NEW.external_id, 'plan', NEW.plan, 'quantity', NEW.quantity, 'mrr', NEW.mrr, 'start_date', NEW.start_date, 'end_date', NEW.end_date) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'subscription', CAST(NEW.id AS TEXT), 'update', json_object('account_id', OLD.account_id, 'external_id', OLD.external_id, 'plan', OLD.plan, 'quantity', OLD.quantity, 'mrr', OLD.mrr, 'start_date', OLD.start_date, 'end_date', OLD.end_date), json_object('account_id', NEW.account_id, 'external_id', NEW.external_id, 'plan', NEW.plan, 'quantity', NEW.quantity, 'mrr', NEW.mrr, 'start_date', NEW.start_date, 'end_date', NEW.end_date));
END;
CREATE TRIGGER audit_subscriptions_delete AFTER DELETE ON subscriptions BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'subscription', CAST(OLD.id AS TEXT), 'delete', json_object('account_id', OLD.account_id, 'external_id', OLD.external_id, 'plan', OLD.plan, 'quantity', OLD.quantity, 'mrr', OLD.mrr, 'start_date', OLD.start_date, 'end_date', OLD.end_date), NULL);
END;

CREATE TRIGGER audit_touchpoints_insert AFTER INSERT ON touchpoints BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'touchpoint', CAST(NEW.id AS TEXT), 'create', NULL, json_object('account_id', NEW.account_id, 'kind', NEW.kind, 'occurred_at', NEW.occurred_at, 'user_id', NEW.user_id, 'summary', NEW.summary, 'attendees', NEW.attendees, 'notes', NEW.notes, 'sentiment', NEW.sentiment));
END;
CREATE TRIGGER audit_touchpoints_update AFTER UPDATE ON touchpoints WHEN json_object('account_id', OLD.account_id, 'kind', OLD.kind, 'occurred_at', OLD.occurred_at, 'user_id', OLD.user_id, 'summary', OLD.summary, 'attendees', OLD.attendees, 'notes', OLD.notes, 'sentiment', OLD.sentiment) IS NOT json_object('account_id', NEW.account_id, 'kind', NEW.kind, 'occurred_at', NEW.occurred_at, 'user_id', NEW.user_id, 'summary', NEW.summary, 'attendees', NEW.attendees, 'notes', NEW.notes, 'sentiment', NEW.sentiment) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'touchpoint', CAST(NEW.id AS TEXT), 'update', json_object('account_id', OLD.account_id, 'kind', OLD.kind, 'occurred_at', OLD.occurred_at, 'user_id', OLD.user_id, 'summary', OLD.summary, 'attendees', OLD.attendees, 'notes', OLD.notes, 'sentiment', OLD.sentiment), json_object('account_id', NEW.account_id, 'kind', NEW.kind, 'occurred_at', NEW.occurred_at, 'user_id', NEW.user_id, 'summary', NEW.summary, 'attendees', NEW.attendees, 'notes', NEW.notes, 'sentiment', NEW.sentiment));
END;
CREATE TRIGGER audit_touchpoints_delete AFTER DELETE ON touchpoints BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'touchpoint', CAST(OLD.id AS TEXT), 'delete', json_object('account_id', OLD.account_id, 'kind', OLD.kind, 'occurred_at', OLD.occurred_at, 'user_id', OLD.user_id, 'summary', OLD.summary, 'attendees', OLD.attendees, 'notes', OLD.notes, 'sentiment', OLD.sentiment), NULL);
END;

CREATE TRIGGER audit_tasks_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'task', CAST(NEW.id AS TEXT), 'create', NULL, json_object('account_id', NEW.account_id, 'owner_id', NEW.owner_id, 'title', NEW.title, 'priority', NEW.priority, 'due_on', NEW.due_on, 'status', NEW.status, 'snoozed_until', NEW.snoozed_until, 'outcome', NEW.outcome, 'note', NEW.note));
END;
CREATE TRIGGER audit_tasks_update AFTER UPDATE ON tasks WHEN json_object('account_id', OLD.account_id, 'owner_id', OLD.owner_id, 'title', OLD.title, 'priority', OLD.priority, 'due_on', OLD.due_on, 'status', OLD.status, 'snoozed_until', OLD.snoozed_until, 'outcome', OLD.outcome, 'note', OLD.note) IS NOT json_object('account_id', NEW.account_id, 'owner_id', NEW.owner_id, 'title', NEW.title, 'priority', NEW.priority, 'due_on', NEW.due_on, 'status', NEW.status, 'snoozed_until', NEW.snoozed_until, 'outcome', NEW.outcome, 'note', NEW.note) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'task', CAST(NEW.id AS TEXT), 'update', json_object('account_id', OLD.account_id, 'owner_id', OLD.owner_id, 'title', OLD.title, 'priority', OLD.priority, 'due_on', OLD.due_on, 'status', OLD.status, 'snoozed_until', OLD.snoozed_until, 'outcome', OLD.outcome, 'note', OLD.note), json_object('account_id', NEW.account_id, 'owner_id', NEW.owner_id, 'title', NEW.title, 'priority', NEW.priority, 'due_on', NEW.due_on, 'status', NEW.status, 'snoozed_until', NEW.snoozed_until, 'outcome', NEW.outcome, 'note', NEW.note));
END;
CREATE TRIGGER audit_tasks_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'task', CAST(OLD.id AS TEXT), 'delete', json_object('account_id', OLD.account_id, 'owner_id', OLD.owner_id, 'title', OLD.title, 'priority', OLD.priority, 'due_on', OLD.due_on, 'status', OLD.status, 'snoozed_until', OLD.snoozed_until, 'outcome', OLD.outcome, 'note', OLD.note), NULL);
END;

CREATE TRIGGER audit_api_tokens_insert AFTER INSERT ON api_tokens BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'token', CAST(NEW.id AS TEXT), 'create', NULL, json_object('name', NEW.name, 'scope', NEW.scope, 'user_id', NEW.user_id, 'revoked_at', NEW.revoked_at));
END;
CREATE TRIGGER audit_api_tokens_update AFTER UPDATE ON api_tokens WHEN json_object('name', OLD.name, 'scope', OLD.scope, 'user_id', OLD.user_id, 'revoked_at', OLD.revoked_at) IS NOT json_object('name', NEW.name, 'scope', NEW.scope, 'user_id', NEW.user_id, 'revoked_at', NEW.revoked_at) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'token', CAST(NEW.id AS TEXT), 'update', json_object('name', OLD.name, 'scope', OLD.scope, 'user_id', OLD.user_id, 'revoked_at', OLD.revoked_at), json_object('name', NEW.name, 'scope', NEW.scope, 'user_id', NEW.user_id, 'revoked_at', NEW.revoked_at));
END;
CREATE TRIGGER audit_api_tokens_delete AFTER DELETE ON api_tokens BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'token', CAST(OLD.id AS TEXT), 'delete', json_object('name', OLD.name, 'scope', OLD.scope, 'user_id', OLD.user_id, 'revoked_at', OLD.revoked_at), NULL);
END;

CREATE TRIGGER audit_write_keys_insert AFTER INSERT ON write_keys BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'write_key', CAST(NEW.id AS TEXT), 'create', NULL, json_object('name', NEW.name, 'revoked_at', NEW.revoked_at));
END;
CREATE TRIGGER audit_write_keys_update AFTER UPDATE ON write_keys WHEN json_object('name', OLD.name, 'revoked_at', OLD.revoked_at) IS NOT json_object('name', NEW.name, 'revoked_at', NEW.revoked_at) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'write_key', CAST(NEW.id AS TEXT), 'update', json_object('name', OLD.name, 'revoked_at', OLD.revoked_at), json_object('name', NEW.name, 'revoked_at', NEW.revoked_at));
END;
CREATE TRIGGER audit_write_keys_delete AFTER DELETE ON write_keys BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'write_key', CAST(OLD.id AS TEXT), 'delete', json_object('name', OLD.name, 'revoked_at', OLD.revoked_at), NULL);
END;

CREATE TRIGGER audit_feature_requests_insert AFTER INSERT ON feature_requests BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'feature_request', CAST(NEW.id AS TEXT), 'create', NULL, json_object('title', NEW.title, 'status', NEW.status, 'issue_url', NEW.issue_url));
END;
CREATE TRIGGER audit_feature_requests_update AFTER UPDATE ON feature_requests WHEN json_object('title', OLD.title, 'status', OLD.status, 'issue_url', OLD.issue_url) IS NOT json_object('title', NEW.title, 'status', NEW.status, 'issue_url', NEW.issue_url) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'feature_request', CAST(NEW.id AS TEXT), 'update', json_object('title', OLD.title, 'status', OLD.status, 'issue_url', OLD.issue_url), json_object('title', NEW.title, 'status', NEW.status, 'issue_url', NEW.issue_url));
END;
CREATE TRIGGER audit_feature_requests_delete AFTER DELETE ON feature_requests BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'feature_request', CAST(OLD.id AS TEXT), 'delete', json_object('title', OLD.title, 'status', OLD.status, 'issue_url', OLD.issue_url), NULL);
END;

CREATE TRIGGER audit_playbook_versions_insert AFTER INSERT ON playbook_versions BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'playbook', CAST(NEW.name || ' v' || NEW.version AS TEXT), 'create', NULL, json_object('name', NEW.name, 'version', NEW.version, 'enabled', NEW.enabled));
END;
CREATE TRIGGER audit_playbook_versions_update AFTER UPDATE ON playbook_versions WHEN json_object('name', OLD.name, 'version', OLD.version, 'enabled', OLD.enabled) IS NOT json_object('name', NEW.name, 'version', NEW.version, 'enabled', NEW.enabled) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'playbook', CAST(NEW.name || ' v' || NEW.version AS TEXT), 'update', json_object('name', OLD.name, 'version', OLD.version, 'enabled', OLD.enabled), json_object('name', NEW.name, 'version', NEW.version, 'enabled', NEW.enabled));
END;
CREATE TRIGGER audit_playbook_versions_delete AFTER DELETE ON playbook_versions BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'playbook', CAST(OLD.name || ' v' || OLD.version AS TEXT), 'delete', json_object('name', OLD.name, 'version', OLD.version, 'enabled', OLD.enabled), NULL);
END;

CREATE TRIGGER audit_config_versions_insert AFTER INSERT ON config_versions BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'configuration', CAST(NEW.kind || ' v' || NEW.version AS TEXT), 'create', NULL, json_object('kind', NEW.kind, 'version', NEW.version));
END;
CREATE TRIGGER audit_config_versions_update AFTER UPDATE ON config_versions WHEN json_object('kind', OLD.kind, 'version', OLD.version) IS NOT json_object('kind', NEW.kind, 'version', NEW.version) BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'configuration', CAST(NEW.kind || ' v' || NEW.version AS TEXT), 'update', json_object('kind', OLD.kind, 'version', OLD.version), json_object('kind', NEW.kind, 'version', NEW.version));
END;
CREATE TRIGGER audit_config_versions_delete AFTER DELETE ON config_versions BEGIN
    INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor_id FROM audit_context WHERE id = 1), 'configuration', CAST(OLD.kind || ' v' || OLD.version AS TEXT), 'delete', json_object('kind', OLD.kind, 'version', OLD.version), NULL);
END;
