DELETE FROM accounts_permission WHERE codename IN ('core.view_outbox', 'core.change_outbox');
DROP TABLE core_outbox;
