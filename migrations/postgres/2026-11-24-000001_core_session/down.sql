DROP TABLE core_session;
